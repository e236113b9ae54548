"""The acceptance run: an app built on authlib's OAuth 2.0 client completes authorization code
with PKCE against a running `gigforge serve`, calls the API with its token and refreshes;
reusing a rotated refresh token revokes the grant; revocation and introspection work. The app
is registered and its authorization revoked through the `gigforge apps` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from oauth_support import hidden_fields

from serving import Server, serving

EMAIL = "ada@example.com"
PASSWORD = "served passphrase for the consent page"
REDIRECT_URI = "http://127.0.0.1:8765/callback"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with serving(tmp_path, EMBEDDED_WORKER="false") as served:
        yield served


def _gigforge(server: Server, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gigforge", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def _consent_as_signed_in_user(server: Server, authorization_url: str) -> str:
    """The dashboard user signs in, opens the app's link, and allows; the Location the browser
    would follow back to the app."""
    async with httpx.AsyncClient(base_url=server.base) as browser:
        login = await browser.get("/login")
        signed = await browser.post(
            "/login",
            data={
                "email": EMAIL,
                "password": PASSWORD,
                "csrf_token": dict(hidden_fields(login.text))["csrf_token"],
            },
        )
        assert signed.status_code == 303
        page = await browser.get(authorization_url)
        assert page.status_code == 200, page.text
        assert "Invoice Robot" in page.text
        form: dict[str, list[str]] = {}
        for name, value in hidden_fields(page.text):
            form.setdefault(name, []).append(value)
        answer = await browser.post("/oauth/authorize", data={**form, "decision": "allow"})
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith(REDIRECT_URI + "?code=")
        return location


async def _authorize(server: Server, app: dict[str, str]) -> tuple[AsyncOAuth2Client, dict]:
    client = AsyncOAuth2Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        scope="users:read jobs:read",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = generate_token(48)
    url, _state = client.create_authorization_url(
        f"{server.base}/oauth/authorize", code_verifier=verifier
    )
    location = await _consent_as_signed_in_user(server, url)
    token = await client.fetch_token(
        f"{server.base}/oauth/token", authorization_response=location, code_verifier=verifier
    )
    return client, dict(token)


async def test_an_authlib_client_authorizes_calls_the_api_refreshes_and_is_revoked(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        registered = await http.post(
            "/api/v1/auth/register",
            json={"email": EMAIL, "password": PASSWORD, "full_name": "Ada Lovelace"},
        )
        assert registered.status_code == 201
        metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == server.base
    app = json.loads(
        _gigforge(
            server,
            "apps",
            "create",
            "Invoice Robot",
            "--redirect-uri",
            REDIRECT_URI,
            "--scope",
            "users:read",
            "--scope",
            "jobs:read",
            "--json",
        )
    )
    assert app["client_secret"].startswith("gfs_")

    client, first = await _authorize(server, app)
    try:
        me = await client.get(f"{server.base}/api/v1/users/me")
        assert me.status_code == 200
        assert me.json()["email"] == EMAIL

        second = dict(await client.refresh_token(metadata["token_endpoint"]))
        assert second["refresh_token"] != first["refresh_token"]
        assert (await client.get(f"{server.base}/api/v1/users/me")).status_code == 200

        with pytest.raises(OAuthError) as reused:
            await client.refresh_token(
                metadata["token_endpoint"], refresh_token=first["refresh_token"]
            )
        assert reused.value.error == "invalid_grant"
        assert (await client.get(f"{server.base}/api/v1/users/me")).status_code == 401
    finally:
        await client.aclose()

    client, tokens = await _authorize(server, app)
    try:
        introspected = await client.introspect_token(
            metadata["introspection_endpoint"], token=tokens["access_token"]
        )
        assert introspected.json()["active"] is True
        assert introspected.json()["scope"] == "users:read jobs:read"
        revoked = await client.revoke_token(
            metadata["revocation_endpoint"], token=tokens["access_token"]
        )
        assert revoked.status_code == 200
        assert (await client.get(f"{server.base}/api/v1/users/me")).status_code == 401
        after = await client.introspect_token(
            metadata["introspection_endpoint"], token=tokens["access_token"]
        )
        assert after.json() == {"active": False}
    finally:
        await client.aclose()

    client, tokens = await _authorize(server, app)
    try:
        listed = json.loads(_gigforge(server, "apps", "authorizations", "--json"))
        assert [item["client_id"] for item in listed] == [app["client_id"]]
        _gigforge(server, "apps", "authorizations", "--revoke", app["id"])
        assert (await client.get(f"{server.base}/api/v1/users/me")).status_code == 401
        assert json.loads(_gigforge(server, "apps", "authorizations", "--json")) == []
    finally:
        await client.aclose()
