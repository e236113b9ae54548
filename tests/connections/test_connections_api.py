from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from acme import GOOD_KEY, SANDBOX, AcmeKey, AcmeOAuth, AcmeSandbox
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import Account, register, stored_events
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection, VaultSecret
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import Capability, IntegrationRuntime, Registry
from gigforge.settings import OAuthClient

CONNECTIONS = "/api/v1/connections"


@pytest.fixture
def sandbox(app: FastAPI) -> AcmeSandbox:
    """Point the app's integrations at the Acme sandbox, in-process."""
    acme = AcmeSandbox()
    context: IntegrationContext = app.state.integrations
    context.registry = Registry([AcmeOAuth, AcmeKey])
    context.runtime = IntegrationRuntime(
        on_quota=app.state.quota_notices, transports={SANDBOX: httpx.ASGITransport(app=acme.app)}
    )
    context.sandbox_clients["acme"] = OAuthClient(
        client_id="acme-client", client_secret="acme-secret"
    )
    return acme


async def _oauth_connect(client: httpx.AsyncClient, account: Account, sandbox: AcmeSandbox) -> dict:
    start = await client.get(
        f"{CONNECTIONS}/acme/authorize", params={"redirect": "false"}, headers=account.headers
    )
    assert start.status_code == 200, start.text
    url = start.json()["authorize_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["client_id"] == ["acme-client"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as browser:
        consent = await browser.get(url)
    assert consent.status_code == 302
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    callback = await client.get(
        f"{CONNECTIONS}/acme/callback",
        params={"code": back["code"][0], "state": back["state"][0]},
        headers=account.headers,
    )
    assert callback.status_code == 200, callback.text
    return dict(callback.json())


async def test_api_key_is_tested_then_stored_in_the_vault_only(
    client: httpx.AsyncClient, session: AsyncSession, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    created = await client.post(
        CONNECTIONS,
        json={"integration": "acme-key", "config": {"api_key": GOOD_KEY, "region": "us"}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["config"] == {"region": "us"}
    assert GOOD_KEY not in created.text
    assert sandbox.calls == 1
    rows = (await session.execute(select(VaultSecret))).scalars().all()
    assert rows
    assert all(GOOD_KEY.encode() not in row.ciphertext for row in rows)
    tested = await client.post(f"{CONNECTIONS}/{body['id']}/test", headers=account.headers)
    assert tested.json() == {"ok": True, "details": {"user": "key-user"}}


async def test_a_refused_key_stores_nothing(
    client: httpx.AsyncClient, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    refused = await client.post(
        CONNECTIONS,
        json={"integration": "acme-key", "config": {"api_key": "wrong-key"}},
        headers=account.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("connection-test-failed")
    assert "wrong-key" not in refused.text
    listed = (await client.get(CONNECTIONS, headers=account.headers)).json()
    assert listed["total"] == 0


async def test_config_errors_name_the_field(
    client: httpx.AsyncClient, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    response = await client.post(
        CONNECTIONS, json={"integration": "acme-key", "config": {}}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "config", "api_key"]
    unknown = await client.post(
        CONNECTIONS, json={"integration": "nope", "config": {}}, headers=account.headers
    )
    assert unknown.status_code == 404


async def test_oauth_code_flow_with_pkce(client: httpx.AsyncClient, sandbox: AcmeSandbox) -> None:
    account = await register(client)
    connection = await _oauth_connect(client, account, sandbox)
    assert connection["status"] == "active"
    assert connection["auth_mode"] == "oauth2_authorization_code"
    tested = await client.post(f"{CONNECTIONS}/{connection['id']}/test", headers=account.headers)
    assert tested.json()["details"] == {"user": "sandbox-user"}


async def test_state_mismatch_and_reuse_are_rejected(
    client: httpx.AsyncClient, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    start = await client.get(
        f"{CONNECTIONS}/acme/authorize", params={"redirect": "false"}, headers=account.headers
    )
    url = start.json()["authorize_url"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as browser:
        back = parse_qs(urlsplit((await browser.get(url)).headers["location"]).query)
    forged = await client.get(
        f"{CONNECTIONS}/acme/callback", params={"code": back["code"][0], "state": "x" * 43}
    )
    assert forged.status_code == 400
    assert forged.json()["type"].endswith("invalid-oauth-state")
    ok = await client.post(
        f"{CONNECTIONS}/acme/callback",
        json={"code": back["code"][0], "state": back["state"][0]},
        headers=account.headers,
    )
    assert ok.status_code == 201
    replay = await client.post(
        f"{CONNECTIONS}/acme/callback",
        json={"code": back["code"][0], "state": back["state"][0]},
        headers=account.headers,
    )
    assert replay.status_code == 400


async def test_authorize_redirects_the_browser(
    client: httpx.AsyncClient, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    response = await client.get(f"{CONNECTIONS}/acme/authorize", headers=account.headers)
    assert response.status_code == 302
    assert response.headers["location"].startswith(f"{SANDBOX}/oauth/authorize?")


async def _stored_tokens(session: AsyncSession, app: FastAPI, connection_id: str) -> dict:
    from gigforge.connections.vault import vault

    connection = await session.get(Connection, uuid.UUID(connection_id))
    assert connection is not None
    assert connection.secret_id is not None
    context: IntegrationContext = app.state.integrations
    secret = await vault.get(
        session, context.keyring, connection.secret_id, user_id=connection.user_id
    )
    await session.commit()
    return dict(json.loads(secret.reveal_text())["tokens"])


async def test_401_refreshes_and_stores_the_rotated_refresh_token(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    connection = await _oauth_connect(client, account, sandbox)
    before = await _stored_tokens(session, app, connection["id"])
    sandbox.oauth.expire_access_tokens()
    tested = await client.post(f"{CONNECTIONS}/{connection['id']}/test", headers=account.headers)
    assert tested.status_code == 200, tested.text
    after = await _stored_tokens(session, app, connection["id"])
    assert sandbox.oauth.refresh_count == 1
    assert after["refresh_token"] != before["refresh_token"]
    assert after["refresh_token"] in sandbox.oauth.refresh_tokens
    assert before["refresh_token"] not in sandbox.oauth.refresh_tokens


async def test_concurrent_callers_cause_one_refresh(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    connection = await _oauth_connect(client, account, sandbox)
    sandbox.oauth.expire_access_tokens()
    context: IntegrationContext = app.state.integrations
    row = await session.get(Connection, uuid.UUID(connection["id"]))
    assert row is not None
    connectors = [
        await connection_service.connector(session, context=context, connection=row)
        for _ in range(5)
    ]
    await session.commit()

    async def call(connector: AcmeOAuth) -> dict:
        async with connector.client:
            return await connector.test()

    results = await asyncio.gather(*(call(c) for c in connectors))  # type: ignore[arg-type]
    assert all(result == {"user": "sandbox-user"} for result in results)
    assert sandbox.oauth.refresh_count == 1


async def test_a_failed_refresh_marks_needs_reauth_and_emits_an_event(
    app: FastAPI, client: httpx.AsyncClient, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    connection = await _oauth_connect(client, account, sandbox)
    sandbox.oauth.expire_access_tokens()
    sandbox.oauth.refusing_refresh = True
    tested = await client.post(f"{CONNECTIONS}/{connection['id']}/test", headers=account.headers)
    assert tested.status_code == 422
    after = (await client.get(f"{CONNECTIONS}/{connection['id']}", headers=account.headers)).json()
    assert after["status"] == "needs_reauth"
    [event] = await stored_events(app, "connection.")
    assert event.type == "connection.needs_reauth"
    assert event.payload == {"connection_id": connection["id"], "integration": "acme"}


async def test_disabling_takes_a_connection_out_of_its_chain(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    created = (
        await client.post(
            CONNECTIONS,
            json={"integration": "acme-key", "config": {"api_key": GOOD_KEY}},
            headers=account.headers,
        )
    ).json()
    context: IntegrationContext = app.state.integrations
    user_id = uuid.UUID(account.user_id)
    chain = await connection_service.chain(session, user_id, Capability.crm, context=context)
    assert [str(c.id) for c in chain] == [created["id"]]
    await session.commit()
    patched = await client.patch(
        f"{CONNECTIONS}/{created['id']}", json={"enabled": False}, headers=account.headers
    )
    assert patched.json()["status"] == "disabled"
    chain = await connection_service.chain(session, user_id, Capability.crm, context=context)
    assert chain == ()


async def test_other_users_cannot_see_or_touch_a_connection(
    client: httpx.AsyncClient, sandbox: AcmeSandbox
) -> None:
    alice = await register(client)
    bob = await register(client)
    created = (
        await client.post(
            CONNECTIONS,
            json={"integration": "acme-key", "config": {"api_key": GOOD_KEY}},
            headers=alice.headers,
        )
    ).json()
    path = f"{CONNECTIONS}/{created['id']}"
    assert (await client.get(path, headers=bob.headers)).status_code == 404
    assert (await client.post(f"{path}/test", headers=bob.headers)).status_code == 404
    assert (await client.delete(path, headers=bob.headers)).status_code == 404
    assert (await client.get(CONNECTIONS, headers=bob.headers)).json()["total"] == 0
    assert (await client.delete(path, headers=alice.headers)).status_code == 204
    assert (await client.get(CONNECTIONS, headers=alice.headers)).json()["total"] == 0


async def test_deleting_a_connection_deletes_its_secret(
    client: httpx.AsyncClient, session: AsyncSession, sandbox: AcmeSandbox
) -> None:
    account = await register(client)
    created = (
        await client.post(
            CONNECTIONS,
            json={"integration": "acme-key", "config": {"api_key": GOOD_KEY}},
            headers=account.headers,
        )
    ).json()
    await client.delete(f"{CONNECTIONS}/{created['id']}", headers=account.headers)
    remaining = (await session.execute(select(VaultSecret))).scalars().all()
    assert remaining == []
