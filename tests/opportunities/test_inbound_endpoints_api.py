"""Inbound endpoints over the API: listed without secrets, rotated, deleted, scoped, audited."""

from __future__ import annotations

import json
import time
import uuid

import httpx

from factories import Account, register
from gigforge.opportunities.inbound import sign

ENDPOINTS = "/api/v1/inbound-endpoints"


async def _create(client: httpx.AsyncClient, account: Account, source: str) -> dict[str, str]:
    created = await client.post(ENDPOINTS, json={"source": source}, headers=account.headers)
    assert created.status_code == 201, created.text
    body: dict[str, str] = created.json()
    return body


async def _send(client: httpx.AsyncClient, source: str, key_id: str, secret: str) -> httpx.Response:
    body = json.dumps({"url": f"https://example.com/{uuid.uuid4()}", "title": "A job"}).encode()
    return await client.post(
        f"/api/v1/inbound/{source}",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Gigforge-Key-Id": key_id,
            "X-Gigforge-Signature": sign(secret, int(time.time()), body),
        },
    )


async def test_endpoints_are_listed_newest_first_without_their_secrets(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    first = await _create(client, account, "fiverr")
    second = await _create(client, account, "guru")
    listed = await client.get(ENDPOINTS, headers=account.headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["total"] == 2
    assert [item["id"] for item in body["items"]] == [second["id"], first["id"]]
    assert "secret" not in listed.text
    assert first["secret"] not in listed.text


async def test_rotating_keeps_the_key_id_and_refuses_the_old_secret(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    endpoint = await _create(client, account, "fiverr")
    rotated = await client.post(f"{ENDPOINTS}/{endpoint['id']}/rotate", headers=account.headers)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["id"] == endpoint["id"]
    assert body["url"] == endpoint["url"]
    assert body["secret"].startswith("gfi_")
    assert body["secret"] != endpoint["secret"]
    old = await _send(client, "fiverr", endpoint["id"], endpoint["secret"])
    assert old.status_code == 401
    new = await _send(client, "fiverr", endpoint["id"], body["secret"])
    assert new.status_code == 202, new.text


async def test_a_deleted_endpoint_refuses_requests_and_is_gone_from_the_list(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    endpoint = await _create(client, account, "fiverr")
    deleted = await client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=account.headers)
    assert deleted.status_code == 204
    assert (await client.get(ENDPOINTS, headers=account.headers)).json()["total"] == 0
    refused = await _send(client, "fiverr", endpoint["id"], endpoint["secret"])
    assert refused.status_code == 401
    again = await client.delete(f"{ENDPOINTS}/{endpoint['id']}", headers=account.headers)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    audit = await client.get("/api/v1/audit", headers=account.headers)
    actions = [record["action"] for record in audit.json()["items"]]
    assert actions[:2] == ["inbound_endpoint.deleted", "inbound_endpoint.created"]


async def test_another_users_endpoint_cannot_be_rotated_or_deleted(
    client: httpx.AsyncClient,
) -> None:
    alice = await register(client)
    endpoint = await _create(client, alice, "fiverr")
    bob = await register(client)
    for method, path in (("POST", "/rotate"), ("DELETE", "")):
        response = await client.request(
            method, f"{ENDPOINTS}/{endpoint['id']}{path}", headers=bob.headers
        )
        assert response.status_code == 404
    assert (await client.get(ENDPOINTS, headers=bob.headers)).json()["total"] == 0
    still = await _send(client, "fiverr", endpoint["id"], endpoint["secret"])
    assert still.status_code == 202
