"""The consent page: sign-in first, CSRF, allow and deny, and requests that must never be sent
back to the app (unknown client, unregistered redirect URI) or must go back refused."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from oauth_support import (
    REDIRECT_URI,
    App,
    authorize_query,
    consent,
    hidden_fields,
    pkce_pair,
    redirected_params,
    register_app,
    signed_in,
)
from sqlalchemy import select

from factories import register, stored_events
from gigforge.audit.models import AuditRecord
from gigforge.kit.db import unit_of_work


async def _ready(client: httpx.AsyncClient) -> App:
    account = await register(client)
    app = await register_app(client, account)
    await signed_in(client, account)
    return app


async def test_signing_in_first_comes_back_to_the_consent_page(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    app = await register_app(client, account)
    _, challenge = pkce_pair()
    query = authorize_query(app, challenge)
    first = await client.get(f"/oauth/authorize?{query}")
    assert first.status_code == 303
    login = first.headers["location"]
    assert login.startswith("/login?next=")
    back_to = parse_qs(urlsplit(login).query)["next"][0]
    assert back_to == f"/oauth/authorize?{query}"
    page = await client.get("/login")
    csrf = dict(hidden_fields(page.text))["csrf_token"]
    signed = await client.post(
        "/login",
        data={
            "email": account.email,
            "password": account.password,
            "csrf_token": csrf,
            "next": back_to,
        },
    )
    assert signed.headers["location"] == back_to
    consent_page = await client.get(back_to)
    assert "Allow “Invoice Robot” to use your Gigforge account?" in consent_page.text
    assert "Read your account" in consent_page.text
    assert "Read opportunities and proposals" in consent_page.text


async def test_allow_sends_a_code_and_is_audited_and_published(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    registered = await _ready(client)
    _, challenge = pkce_pair()
    params = redirected_params(await consent(client, authorize_query(registered, challenge)))
    assert params["state"] == "state-123"
    assert params["code"]
    events = await stored_events(app, "oauth.app_authorized")
    assert [event.payload["client_id"] for event in events] == [registered.client_id]
    assert events[0].payload["scopes"] == ["users:read", "jobs:read"]
    async with unit_of_work(app.state.database) as session:
        actions = (await session.scalars(select(AuditRecord.action))).all()
    assert "oauth.app_created" in actions
    assert "oauth.app_authorized" in actions


async def test_deny_sends_access_denied(client: httpx.AsyncClient) -> None:
    registered = await _ready(client)
    _, challenge = pkce_pair()
    params = redirected_params(
        await consent(client, authorize_query(registered, challenge), decision="deny")
    )
    assert params["error"] == "access_denied"
    assert params["state"] == "state-123"
    assert "code" not in params


async def test_the_answer_needs_the_csrf_token(client: httpx.AsyncClient) -> None:
    registered = await _ready(client)
    _, challenge = pkce_pair()
    page = await client.get(f"/oauth/authorize?{authorize_query(registered, challenge)}")
    fields = {name: value for name, value in hidden_fields(page.text) if name != "csrf_token"}
    forged = await client.post("/oauth/authorize", data={**fields, "decision": "allow"})
    assert forged.status_code == 403
    assert "location" not in forged.headers


async def test_plain_or_missing_pkce_goes_back_refused(client: httpx.AsyncClient) -> None:
    registered = await _ready(client)
    verifier, challenge = pkce_pair()
    plain = await client.get(
        f"/oauth/authorize?{authorize_query(registered, verifier, method='plain')}"
    )
    assert redirected_params(plain)["error"] == "invalid_request"
    assert "plain" in redirected_params(plain)["error_description"]
    unnamed = await client.get(
        f"/oauth/authorize?{authorize_query(registered, challenge, method=None)}"
    )
    assert redirected_params(unnamed)["error"] == "invalid_request"
    missing = await client.get(f"/oauth/authorize?{authorize_query(registered, None)}")
    assert redirected_params(missing)["error"] == "invalid_request"
    assert "PKCE" in redirected_params(missing)["error_description"]


async def test_scopes_the_app_may_not_ask_for_go_back_refused(client: httpx.AsyncClient) -> None:
    registered = await _ready(client)
    _, challenge = pkce_pair()
    for scope in ("jobs:write", "admin", ""):
        response = await client.get(
            f"/oauth/authorize?{authorize_query(registered, challenge, scope=scope)}"
        )
        assert redirected_params(response)["error"] == "invalid_scope", scope


async def test_implicit_grant_goes_back_refused(client: httpx.AsyncClient) -> None:
    registered = await _ready(client)
    _, challenge = pkce_pair()
    query = authorize_query(registered, challenge).replace(
        "response_type=code", "response_type=token"
    )
    assert redirected_params(await client.get(f"/oauth/authorize?{query}"))["error"] == (
        "unsupported_response_type"
    )


async def test_unknown_clients_and_unregistered_redirects_get_an_error_page(
    client: httpx.AsyncClient,
) -> None:
    registered = await _ready(client)
    _, challenge = pkce_pair()
    unknown = App(id="", client_id="gfc_nobody", client_secret=None)
    cases = [
        authorize_query(unknown, challenge),
        authorize_query(registered, challenge, redirect_uri="https://evil.example/callback"),
        authorize_query(registered, challenge, redirect_uri=REDIRECT_URI + "/extra"),
        authorize_query(registered, challenge, redirect_uri='https://evil.example/"q'),
        authorize_query(registered, challenge).replace("redirect_uri=", "other="),
    ]
    for query in cases:
        response = await client.get(f"/oauth/authorize?{query}")
        assert response.status_code == 400, (query, response.text)
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert "This sign-in link is not valid" in response.text
        posted = await client.post(
            "/oauth/authorize",
            data={
                **dict(parse_qs(query)),
                "csrf_token": dict(
                    hidden_fields((await client.get("/settings/authorized-apps")).text)
                )["csrf_token"],
                "decision": "allow",
            },
        )
        assert posted.status_code == 400, (query, posted.text)
        assert "location" not in posted.headers
