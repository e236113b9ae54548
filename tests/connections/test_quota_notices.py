"""Each quota threshold becomes a durable event; a spent window becomes a dashboard notice and
an API field until it resets."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from limits import parse
from limits.aio.storage import MemoryStorage

from factories import Account, register, stored_events
from gigforge.integrations.framework.ratelimit import QuotaCrossed, RateBudget
from gigforge.kit.clock import utcnow
from web_support import sign_in


async def _remoteok(web: httpx.AsyncClient) -> tuple[Account, httpx.Response]:
    account = await register(web)
    created = await web.post(
        "/api/v1/connections",
        json={"integration": "remoteok", "config": {}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    return account, created


async def test_a_spent_quota_is_shown_until_its_window_resets(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account, created = await _remoteok(web)
    connection_id = created.json()["id"]
    assert created.json()["quota_reached_until"] is None

    budget = RateBudget(MemoryStorage(), on_quota=sandbox_app.state.quota_notices)
    quota = parse("4/hour")
    for _ in range(4):
        assert (await budget.admit(f"remoteok:{connection_id}", [quota])).allowed
    await sandbox_app.state.quota_notices.drain()
    events = await stored_events(sandbox_app, "quota.threshold")
    assert sorted(event.payload["threshold_percent"] for event in events) == [80, 95, 100]
    assert {event.user_id for event in events} == {uuid.UUID(account.user_id)}
    assert {event.payload["limit"] for event in events} == {"4 per 1 hour"}

    read = (await web.get(f"/api/v1/connections/{connection_id}", headers=account.headers)).json()
    assert read["quota_limit"] == "4 per 1 hour"
    assert read["quota_reached_until"] is not None

    await sign_in(web, account)
    board = await web.get("/opportunities")
    assert "remoteok (default) has used its whole quota (4 per 1 hour)" in board.text


async def test_only_a_spent_quota_of_a_real_connection_is_recorded(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account, created = await _remoteok(web)
    connection_id = created.json()["id"]
    notices = sandbox_app.state.quota_notices
    until = utcnow() + timedelta(hours=1)

    async def publish(connection: str, percent: int) -> None:
        await notices(
            QuotaCrossed(
                integration="remoteok",
                connection=connection,
                limit="9 per 1 hour",
                threshold_percent=percent,
                used_percent=float(percent),
                resets_at=until,
            )
        )
        await notices.drain()

    async def recorded() -> object:
        path = f"/api/v1/connections/{connection_id}"
        return (await web.get(path, headers=account.headers)).json()["quota_reached_until"]

    await publish(connection_id, 95)
    assert await recorded() is None
    await publish("built-in", 100)  # the template writer has no row
    await publish(str(uuid.uuid4()), 100)
    assert await recorded() is None
    await publish(connection_id, 100)
    assert await recorded() is not None
    events = await stored_events(sandbox_app, "quota.threshold")
    assert [event.payload["threshold_percent"] for event in events] == [95, 100]
