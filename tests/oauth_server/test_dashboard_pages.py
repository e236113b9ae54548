"""The developer apps and authorized apps pages over HTTP: forms, the secret shown once,
rotation, roles and CSRF."""

from __future__ import annotations

import re

import httpx
from oauth_support import REDIRECT_URI, authorize_code, hidden_fields, register_app, signed_in

from factories import register

SECRET = re.compile(r'id="issued-secret" class="secret-value" value="(gfs_[^"]+)"')


def _csrf(html: str) -> str:
    return dict(hidden_fields(html))["csrf_token"]


async def test_register_an_app_in_the_dashboard_and_rotate_its_secret(
    client: httpx.AsyncClient,
) -> None:
    owner = await register(client)
    await signed_in(client, owner)
    page = await client.get("/settings/developer-apps")
    assert page.status_code == 200
    assert "You have not registered any apps." in page.text
    created = await client.post(
        "/settings/developer-apps",
        data={
            "csrf_token": _csrf(page.text),
            "name": "Invoice Robot",
            "client_type": "confidential",
            "redirect_uris": f"{REDIRECT_URI}\nhttps://robot.example/cb",
            "scopes": ["users:read", "jobs:read"],
        },
    )
    assert created.status_code == 201, created.text
    secret = SECRET.search(created.text)
    assert secret is not None
    listed = await client.get("/settings/developer-apps")
    assert secret.group(1) not in listed.text
    assert "https://robot.example/cb" in listed.text

    [app] = (await client.get("/api/v1/oauth/apps", headers=owner.headers)).json()["items"]
    rotated = await client.post(
        f"/settings/developer-apps/{app['id']}/rotate-secret",
        data={"csrf_token": _csrf(listed.text)},
    )
    assert rotated.status_code == 200
    new_secret = SECRET.search(rotated.text)
    assert new_secret is not None
    assert new_secret.group(1) != secret.group(1)
    assert "The old secret stopped working just now." in rotated.text


async def test_form_mistakes_are_shown_on_the_form(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await signed_in(client, owner)
    page = await client.get("/settings/developer-apps")
    empty = await client.post(
        "/settings/developer-apps",
        data={"csrf_token": _csrf(page.text), "name": "", "redirect_uris": "", "client_type": "x"},
    )
    assert empty.status_code == 422
    assert "Give at least one redirect URI" in empty.text
    assert "Choose at least one thing the app may ask for." in empty.text
    insecure = await client.post(
        "/settings/developer-apps",
        data={
            "csrf_token": _csrf(page.text),
            "name": "Robot",
            "client_type": "public",
            "redirect_uris": "http://robot.example/cb",
            "scopes": ["jobs:read"],
        },
    )
    assert insecure.status_code == 422
    assert "The app was not registered." in insecure.text
    assert "use https, or http on a loopback address" in insecure.text
    assert (await client.get("/api/v1/oauth/apps", headers=owner.headers)).json()["total"] == 0


async def test_editing_redirect_uris_in_the_dashboard(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    app = await register_app(client, owner)
    await signed_in(client, owner)
    page = await client.get(f"/settings/developer-apps/{app.id}")
    assert page.status_code == 200
    saved = await client.post(
        f"/settings/developer-apps/{app.id}",
        data={
            "csrf_token": _csrf(page.text),
            "name": "Invoice Robot",
            "redirect_uris": "https://robot.example/new",
            "scopes": ["jobs:read"],
        },
    )
    assert saved.status_code == 200
    assert "Saved." in saved.text
    read = (await client.get(f"/api/v1/oauth/apps/{app.id}", headers=owner.headers)).json()
    assert read["redirect_uris"] == ["https://robot.example/new"]
    assert read["scopes"] == ["jobs:read"]
    stranger = await register(client)
    client.cookies.clear()
    await signed_in(client, stranger)
    assert (await client.get(f"/settings/developer-apps/{app.id}")).status_code == 404


async def test_posts_without_the_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    app = await register_app(client, owner)
    await signed_in(client, owner)
    for path in (
        "/settings/developer-apps",
        f"/settings/developer-apps/{app.id}/rotate-secret",
        f"/settings/developer-apps/{app.id}/delete",
        f"/settings/authorized-apps/{app.id}/revoke",
    ):
        assert (await client.post(path, data={"name": "x"})).status_code == 403, path
    assert (await client.get("/api/v1/oauth/apps", headers=owner.headers)).json()["total"] == 1


async def test_authorized_apps_lists_and_revokes(client: httpx.AsyncClient) -> None:
    developer = await register(client)
    app = await register_app(client, developer)
    user = await register(client)
    await signed_in(client, user)
    await authorize_code(client, app)
    page = await client.get("/settings/authorized-apps")
    assert "Invoice Robot" in page.text
    assert "Read your account" in page.text
    revoked = await client.post(
        f"/settings/authorized-apps/{app.id}/revoke", data={"csrf_token": _csrf(page.text)}
    )
    assert revoked.status_code == 303
    after = await client.get("/settings/authorized-apps")
    assert "You have not allowed any apps to use your account." in after.text
