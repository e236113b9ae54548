from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from factories import Account, register
from gigforge.accounts.models import APIKey

KEYS = "/api/v1/api-keys"
ME = "/api/v1/users/me"


async def _create_key(
    client: httpx.AsyncClient, account: Account, scopes: list[str], **extra: object
) -> dict[str, object]:
    response = await client.post(
        KEYS, json={"name": "ci", "scopes": scopes, **extra}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_key_is_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await register(client)
    created = await _create_key(client, account, ["users:read"])
    key = str(created["key"])
    assert key.startswith("gf_")
    listed = (await client.get(KEYS, headers=account.headers)).json()
    assert listed["total"] == 1
    assert "key" not in listed["items"][0]
    assert listed["items"][0]["prefix"] == key[:10]
    row = await session.get(APIKey, uuid.UUID(str(created["id"])))
    assert row is not None
    assert key not in (row.key_hash, row.prefix)


async def test_key_works_as_bearer_and_header(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = str((await _create_key(client, account, ["users:read"]))["key"])
    bearer = await client.get(ME, headers={"Authorization": f"Bearer {key}"})
    header = await client.get(ME, headers={"X-API-Key": key})
    assert bearer.status_code == header.status_code == 200
    assert bearer.json()["user_id"] == account.user_id


async def test_key_scopes_are_enforced(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = str((await _create_key(client, account, ["users:read"]))["key"])
    headers = {"X-API-Key": key}
    patch = await client.patch(ME, json={"full_name": "Mallory"}, headers=headers)
    assert patch.status_code == 403
    assert patch.json()["type"].endswith("insufficient-scope")
    assert (await client.get(KEYS, headers=headers)).status_code == 403
    escalate = await client.post(
        KEYS, json={"name": "more", "scopes": ["users:write"]}, headers=headers
    )
    assert escalate.status_code == 403


async def test_key_cannot_exceed_the_creators_scopes(client: httpx.AsyncClient) -> None:
    account = await register(client)
    narrow = str((await _create_key(client, account, ["api_keys:write", "users:read"]))["key"])
    wider = await client.post(
        KEYS, json={"name": "wider", "scopes": ["users:write"]}, headers={"X-API-Key": narrow}
    )
    assert wider.status_code == 403
    same = await client.post(
        KEYS, json={"name": "same", "scopes": ["users:read"]}, headers={"X-API-Key": narrow}
    )
    assert same.status_code == 201


async def test_revoked_key_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    created = await _create_key(client, account, ["users:read"])
    revoke = await client.delete(f"{KEYS}/{created['id']}", headers=account.headers)
    assert revoke.status_code == 204
    response = await client.get(ME, headers={"X-API-Key": str(created["key"])})
    assert response.status_code == 401
    listed = (await client.get(KEYS, headers=account.headers)).json()
    assert listed["items"][0]["revoked_at"] is not None


async def test_expired_key_is_rejected(client: httpx.AsyncClient, session: AsyncSession) -> None:
    account = await register(client)
    created = await _create_key(
        client,
        account,
        ["users:read"],
        expires_at=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
    )
    headers = {"X-API-Key": str(created["key"])}
    assert (await client.get(ME, headers=headers)).status_code == 200
    await session.execute(
        update(APIKey)
        .where(APIKey.id == uuid.UUID(str(created["id"])))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await session.commit()
    assert (await client.get(ME, headers=headers)).status_code == 401


async def test_key_with_past_expiry_cannot_be_created(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        KEYS,
        json={"name": "old", "scopes": ["users:read"], "expires_at": "2020-01-01T00:00:00Z"},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_unknown_key_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, headers={"X-API-Key": "gf_" + "a" * 43})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_demotion_cuts_an_existing_keys_scopes(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    member = await register(client)
    key = str((await _create_key(client, member, ["users:read", "users:write"]))["key"])
    demote = await client.patch(
        f"/api/v1/users/{member.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert demote.status_code == 200
    patch = await client.patch(ME, json={"full_name": "X"}, headers={"X-API-Key": key})
    assert patch.status_code == 403
    assert (await client.get(ME, headers={"X-API-Key": key})).status_code == 200
