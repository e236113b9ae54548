"""Deliveries reach a real receiver on a loopback port, signed so that the official
`standardwebhooks` library verifies every one, in order per object, retried on failure."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from fastapi import FastAPI
from webhook_receiver import Reply, receiving
from webhooks_support import account_with_endpoint, publish_submitted, run_tasks

from factories import AppFactory

LOOPBACK = ["127.0.0.1/32"]


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(allowed_private_hosts=LOOPBACK)


async def test_every_delivery_verifies_with_the_standardwebhooks_library(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with receiving() as receiver:
        account, endpoint = await account_with_endpoint(client, receiver.url)
        assert endpoint.secret.startswith("whsec_")
        event_ids = await publish_submitted(app, account.user_id, 3)
        await run_tasks(app)
    bodies = receiver.verified(endpoint.secret)
    assert [body["type"] for body in bodies] == ["proposal.submitted"] * 3
    assert {body["data"]["external_id"] for body in bodies} == {"0", "1", "2"}  # type: ignore[index]
    assert len({item.msg_id for item in receiver.received}) == 3
    attempts = await client.get(
        f"/api/v1/webhooks/endpoints/{endpoint.id}/attempts", headers=account.headers
    )
    assert attempts.status_code == 200
    logged = attempts.json()["attempts"]
    assert len(logged) == 3
    assert all(item["succeeded"] and item["status_code"] == 200 for item in logged)
    assert {item["event_id"] for item in logged} == {str(event_id) for event_id in event_ids}


async def test_a_filtered_endpoint_gets_only_its_event_types(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with receiving() as receiver:
        account, _ = await account_with_endpoint(
            client, receiver.url, event_types=["proposal.approved"]
        )
        await publish_submitted(app, account.user_id, 2)
        await run_tasks(app)
    assert receiver.received == []


async def test_a_failed_attempt_is_retried_with_the_same_webhook_id(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with receiving(Reply(500, b"boom")) as receiver:
        account, endpoint = await account_with_endpoint(client, receiver.url)
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
        assert len(receiver.received) == 1
    attempts = (
        await client.get(
            f"/api/v1/webhooks/endpoints/{endpoint.id}/attempts", headers=account.headers
        )
    ).json()["attempts"]
    assert attempts[0]["status_code"] == 500
    assert attempts[0]["response_excerpt"] == "boom"
    assert json.loads(receiver.received[0].body)["type"] == "proposal.submitted"
    assert uuid.UUID(attempts[0]["delivery_id"])
