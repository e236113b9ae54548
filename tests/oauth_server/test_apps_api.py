"""Registering apps: the secret is shown once and stored hashed, redirect URIs and scopes are
checked, apps are their owner's only; users list and revoke the apps they authorized."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from oauth_support import (
    REDIRECT_URI,
    authorize_code,
    bearer,
    exchange,
    register_app,
    signed_in,
)
from sqlalchemy import select

from factories import register
from gigforge.kit.db import unit_of_work
from gigforge.oauth_server.models import OAuthApp


async def test_the_secret_is_shown_once_and_stored_as_a_hash(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    created = await register_app(client, owner)
    assert created.client_id.startswith("gfc_")
    assert created.client_secret is not None
    assert created.client_secret.startswith("gfs_")
    listed = await client.get("/api/v1/oauth/apps", headers=owner.headers)
    assert listed.json()["total"] == 1
    assert created.client_secret not in listed.text
    read = await client.get(f"/api/v1/oauth/apps/{created.id}", headers=owner.headers)
    assert created.client_secret not in read.text
    assert read.json()["secret_prefix"] == created.client_secret[:10]
    async with unit_of_work(app.state.database) as session:
        row = (await session.scalars(select(OAuthApp))).one()
    assert row.client_secret_hash is not None
    assert created.client_secret not in row.client_secret_hash


async def test_rotating_the_secret_retires_the_old_one(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    registered = await register_app(client, owner)
    rotated = await client.post(
        f"/api/v1/oauth/apps/{registered.id}/rotate-secret", headers=owner.headers
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != registered.client_secret
    await signed_in(client, owner)
    code, verifier = await authorize_code(client, registered)
    old = await exchange(client, registered, code, verifier)
    assert old.json()["error"] == "invalid_client"
    registered.client_secret = new_secret
    assert (await exchange(client, registered, code, verifier)).status_code == 200


async def test_public_apps_have_no_secret_to_rotate(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    public = await register_app(client, owner, client_type="public")
    assert public.client_secret is None
    refused = await client.post(
        f"/api/v1/oauth/apps/{public.id}/rotate-secret", headers=owner.headers
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


async def test_redirect_uris_must_be_https_or_loopback_without_fragments(
    client: httpx.AsyncClient,
) -> None:
    owner = await register(client)
    for uri in (
        "http://example.com/callback",
        "https://example.com/callback#frag",
        "javascript:alert(1)",
        "/relative",
    ):
        response = await client.post(
            "/api/v1/oauth/apps",
            json={"name": "x", "redirect_uris": [uri], "scopes": ["jobs:read"]},
            headers=owner.headers,
        )
        assert response.status_code == 422, uri
        assert response.json()["errors"][0]["loc"] == ["body", "redirect_uris"]
    for uri in ("https://example.com/cb", "http://localhost:9000/cb", "http://[::1]:9/cb"):
        ok = await register_app(client, owner, redirect_uris=(uri,))
        assert ok.client_id


async def test_apps_cannot_be_given_credential_or_admin_scopes(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    for scope in ("admin", "api_keys:write", "api_keys:read"):
        response = await client.post(
            "/api/v1/oauth/apps",
            json={"name": "x", "redirect_uris": [REDIRECT_URI], "scopes": [scope]},
            headers=owner.headers,
        )
        assert response.status_code == 422, scope


async def test_editing_redirect_uris_applies_to_the_next_request(
    client: httpx.AsyncClient,
) -> None:
    owner = await register(client)
    registered = await register_app(client, owner)
    changed = await client.patch(
        f"/api/v1/oauth/apps/{registered.id}",
        json={"redirect_uris": ["https://app.example/callback"], "name": "Renamed"},
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["redirect_uris"] == ["https://app.example/callback"]
    assert changed.json()["name"] == "Renamed"
    refused = await client.patch(
        f"/api/v1/oauth/apps/{registered.id}",
        json={"redirect_uris": ["http://example.com/x"], "name": "Not saved"},
        headers=owner.headers,
    )
    assert refused.status_code == 422
    read = await client.get(f"/api/v1/oauth/apps/{registered.id}", headers=owner.headers)
    assert read.json()["name"] == "Renamed"


async def test_apps_belong_to_their_owner(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    stranger = await register(client)
    registered = await register_app(client, owner)
    for method, path in (
        ("GET", f"/api/v1/oauth/apps/{registered.id}"),
        ("PATCH", f"/api/v1/oauth/apps/{registered.id}"),
        ("POST", f"/api/v1/oauth/apps/{registered.id}/rotate-secret"),
        ("DELETE", f"/api/v1/oauth/apps/{registered.id}"),
    ):
        response = await client.request(
            method, path, headers=stranger.headers, json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, path)
    assert (await client.get("/api/v1/oauth/apps", headers=stranger.headers)).json()["total"] == 0


async def test_users_list_and_revoke_the_apps_they_authorized(client: httpx.AsyncClient) -> None:
    developer = await register(client)
    registered = await register_app(client, developer)
    user = await register(client)
    await signed_in(client, user)
    code, verifier = await authorize_code(client, registered)
    tokens = (await exchange(client, registered, code, verifier)).json()
    assert (
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 200

    listed = await client.get("/api/v1/oauth/authorizations", headers=user.headers)
    assert listed.status_code == 200
    [authorization] = listed.json()
    assert authorization["client_id"] == registered.client_id
    assert authorization["app_name"] == "Invoice Robot"
    assert authorization["scopes"] == ["jobs:read", "users:read"]
    assert authorization["last_used_at"] is not None
    assert (
        await client.get("/api/v1/oauth/authorizations", headers=developer.headers)
    ).json() == []

    stranger = await client.delete(
        f"/api/v1/oauth/authorizations/{registered.id}", headers=developer.headers
    )
    assert stranger.status_code == 404
    revoked = await client.delete(
        f"/api/v1/oauth/authorizations/{registered.id}", headers=user.headers
    )
    assert revoked.status_code == 204
    assert (
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    assert (await client.get("/api/v1/oauth/authorizations", headers=user.headers)).json() == []


async def test_deleting_an_app_ends_its_tokens(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    registered = await register_app(client, owner)
    await signed_in(client, owner)
    code, verifier = await authorize_code(client, registered)
    tokens = (await exchange(client, registered, code, verifier)).json()
    deleted = await client.delete(f"/api/v1/oauth/apps/{registered.id}", headers=owner.headers)
    assert deleted.status_code == 204
    assert (
        await client.get("/api/v1/users/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401


async def test_oauth_tokens_cannot_manage_apps(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    registered = await register_app(client, owner)
    await signed_in(client, owner)
    code, verifier = await authorize_code(client, registered)
    access = (await exchange(client, registered, code, verifier)).json()["access_token"]
    assert (await client.get("/api/v1/oauth/apps", headers=bearer(access))).status_code == 403
    assert (
        await client.get("/api/v1/oauth/authorizations", headers=bearer(access))
    ).status_code == 403
