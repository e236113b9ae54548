"""Helpers for the webhooks tests: an account with an endpoint, events published as a domain
would, and the task engine run until nothing is due."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from factories import Account, register
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.proposals.events import ProposalSubmitted


@dataclass
class Endpoint:
    id: str
    secret: str
    body: dict[str, Any]


async def create_endpoint(
    client: httpx.AsyncClient, account: Account, url: str, **fields: Any
) -> Endpoint:
    response = await client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, **fields}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Endpoint(body["id"], body["secret"], body)


async def account_with_endpoint(
    client: httpx.AsyncClient, url: str, **fields: Any
) -> tuple[Account, Endpoint]:
    account = await register(client)
    return account, await create_endpoint(client, account, url, **fields)


async def publish_submitted(
    app: FastAPI, user_id: str, count: int = 1, *, proposal_id: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """`count` proposal.submitted events for the user, each in its own transaction."""
    ids = []
    for index in range(count):
        async with unit_of_work(app.state.database) as session:
            row = await publish(
                session,
                ProposalSubmitted(
                    proposal_id=proposal_id or uuid.uuid4(),
                    opportunity_id=uuid.uuid4(),
                    platform="freelancer",
                    via="api",
                    external_id=str(index),
                ),
                user_id=uuid.UUID(user_id),
            )
            ids.append(row.id)
    return ids


async def run_tasks(app: FastAPI) -> int:
    return int(await app.state.tasks.run_due())
