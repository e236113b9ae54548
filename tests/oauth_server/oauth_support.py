"""Helpers for the authorization server's tests: register an app, walk the consent page as
the signed-in dashboard user, and make PKCE pairs."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from factories import Account
from web_support import sign_in

REDIRECT_URI = "http://127.0.0.1:8765/callback"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class App:
    id: str
    client_id: str
    client_secret: str | None


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def register_app(
    client: httpx.AsyncClient,
    owner: Account,
    *,
    scopes: tuple[str, ...] = ("users:read", "jobs:read"),
    client_type: str = "confidential",
    redirect_uris: tuple[str, ...] = (REDIRECT_URI,),
    name: str = "Invoice Robot",
) -> App:
    response = await client.post(
        "/api/v1/oauth/apps",
        json={
            "name": name,
            "client_type": client_type,
            "redirect_uris": list(redirect_uris),
            "scopes": list(scopes),
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return App(body["id"], body["client_id"], body["client_secret"])


def authorize_query(
    app: App,
    challenge: str | None,
    *,
    scope: str = "users:read jobs:read",
    redirect_uri: str = REDIRECT_URI,
    method: str | None = "S256",
    state: str = "state-123",
) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
    }
    if challenge is not None:
        params["code_challenge"] = challenge
    if method is not None:
        params["code_challenge_method"] = method
    return urlencode(params)


def hidden_fields(html: str) -> list[tuple[str, str]]:
    return [(name, unescape(value)) for name, value in HIDDEN.findall(html)]


async def consent(web: httpx.AsyncClient, query: str, *, decision: str = "allow") -> httpx.Response:
    """Open the consent page as the signed-in browser and answer it; the answer's redirect."""
    page = await web.get(f"/oauth/authorize?{query}")
    assert page.status_code == 200, page.text
    assert "Allow" in page.text
    form: dict[str, list[str]] = {}
    for name, value in hidden_fields(page.text):
        form.setdefault(name, []).append(value)
    return await web.post("/oauth/authorize", data={**form, "decision": decision})


def redirected_params(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in {302, 303}, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


async def signed_in(web: httpx.AsyncClient, account: Account) -> None:
    response = await sign_in(web, account)
    assert response.status_code == 303, response.text


async def authorize_code(
    web: httpx.AsyncClient, app: App, *, scope: str = "users:read jobs:read"
) -> tuple[str, str]:
    """A fresh authorization code and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    params = redirected_params(await consent(web, authorize_query(app, challenge, scope=scope)))
    assert params["state"] == "state-123"
    return params["code"], verifier


async def exchange(client: httpx.AsyncClient, app: App, code: str, verifier: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    if app.client_secret is None:
        return await client.post("/oauth/token", data={**data, "client_id": app.client_id})
    return await client.post("/oauth/token", data=data, auth=(app.client_id, app.client_secret))


async def refresh(client: httpx.AsyncClient, app: App, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if app.client_secret is None:
        return await client.post("/oauth/token", data={**data, "client_id": app.client_id})
    return await client.post("/oauth/token", data=data, auth=(app.client_id, app.client_secret))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
