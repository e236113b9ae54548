"""The retry policy on a controllable clock: Svix's schedule with jitter, 410 disables the
endpoint, 429/503 honour Retry-After (capped), rotation signs with both secrets, one object's
events go in order, and 5 days of failures disable the endpoint with an event."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import standardwebhooks.webhooks
from fastapi import FastAPI
from standardwebhooks import Webhook
from webhook_receiver import Reply, receiving
from webhooks_support import account_with_endpoint, publish_submitted, run_tasks

import gigforge.kit.clock
import gigforge.kit.task_engine
import gigforge.kit.tasks
from factories import AppFactory, stored_events
from gigforge.webhooks import delivery
from gigforge.webhooks.sending import MAX_RETRY_AFTER


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    for module in (gigforge.kit.clock, gigforge.kit.task_engine, gigforge.kit.tasks):
        monkeypatch.setattr(module, "utcnow", moved)

    class _Moved(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
            return moved()

    # The receiver's library checks the signed timestamp against its own "now".
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", _Moved)
    return moved


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(allowed_private_hosts=["127.0.0.1/32"])


async def _attempts(client: httpx.AsyncClient, account: object, endpoint_id: str) -> list[dict]:  # type: ignore[type-arg]
    response = await client.get(
        f"/api/v1/webhooks/endpoints/{endpoint_id}/attempts?limit=200",
        headers=account.headers,  # type: ignore[attr-defined]
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["attempts"]))


def test_the_schedule_is_svix_s_with_ten_percent_jitter() -> None:
    expected = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
    assert [delivery.retry_delay(n, 0.5).total_seconds() for n in range(8)] == expected
    assert delivery.retry_delay(1, 0.0) == timedelta(seconds=4.5)
    assert delivery.retry_delay(1, 1.0) == timedelta(seconds=5.5)
    assert delivery.retry_delay(8, 0.5) is None


async def test_failures_follow_the_schedule_until_it_is_spent(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    async with receiving(*[Reply(500)] * 20) as receiver:
        account, endpoint = await account_with_endpoint(client, receiver.url)
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
        for wait in delivery.RETRY_SCHEDULE[1:]:
            clock.advance(wait * 0.85)  # before the earliest jittered time: nothing is due
            await run_tasks(app)
            sent = len(receiver.received)
            clock.advance(wait * 0.3 + timedelta(seconds=1))  # runs start on the second
            await run_tasks(app)
            assert len(receiver.received) == sent + 1
            last = receiver.received[-1]
            Webhook(endpoint.secret).verify(last.body, last.headers)
        clock.advance(timedelta(days=1))
        await run_tasks(app)
    assert len(receiver.received) == delivery.MAX_ATTEMPTS
    assert len({item.msg_id for item in receiver.received}) == 1
    attempts = await _attempts(client, account, endpoint.id)
    assert [attempt["status_code"] for attempt in attempts] == [500] * delivery.MAX_ATTEMPTS


async def test_410_gone_disables_the_endpoint_and_tells_the_user(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    async with receiving(Reply(410)) as receiver:
        account, endpoint = await account_with_endpoint(client, receiver.url)
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
        clock.advance(timedelta(hours=1))
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
    assert len(receiver.received) == 1  # no retry, and nothing new goes to a gone endpoint
    read = (
        await client.get(f"/api/v1/webhooks/endpoints/{endpoint.id}", headers=account.headers)
    ).json()
    assert read["enabled"] is False
    assert "410" in read["disabled_reason"]
    disabled = await stored_events(app, "webhook.endpoint_disabled")
    assert [event.payload["endpoint_id"] for event in disabled] == [endpoint.id]


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_and_capped(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock, status: int
) -> None:
    async with receiving(
        Reply(status, headers={"Retry-After": "120"}),
        Reply(status, headers={"Retry-After": "999999"}),
    ) as receiver:
        account, _ = await account_with_endpoint(client, receiver.url)
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
        clock.advance(timedelta(seconds=110))
        await run_tasks(app)
        assert len(receiver.received) == 1  # the schedule alone would have retried at 5 s
        clock.advance(timedelta(seconds=15))
        await run_tasks(app)
        assert len(receiver.received) == 2
        clock.advance(MAX_RETRY_AFTER - timedelta(seconds=10))
        await run_tasks(app)
        assert len(receiver.received) == 2
        clock.advance(timedelta(seconds=20))
        await run_tasks(app)
        assert len(receiver.received) == 3


async def test_during_a_rotation_both_signatures_are_sent_and_each_secret_verifies(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    async with receiving() as receiver:
        account, endpoint = await account_with_endpoint(client, receiver.url)
        rotated = await client.post(
            f"/api/v1/webhooks/endpoints/{endpoint.id}/rotate", headers=account.headers
        )
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
        [during] = receiver.received
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        Webhook(endpoint.secret).verify(during.body, during.headers)
        Webhook(new_secret).verify(during.body, during.headers)
        clock.advance(timedelta(hours=24, seconds=1))
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
    after = receiver.received[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(after.body, after.headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(endpoint.secret).verify(after.body, after.headers)


async def test_one_object_s_events_arrive_in_order_without_holding_up_others(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    held = uuid.uuid4()

    def data(index: int) -> dict[str, str]:
        return dict(json.loads(receiver.received[index].body)["data"])

    async with receiving(Reply(500)) as receiver:
        account, _ = await account_with_endpoint(client, receiver.url)
        await publish_submitted(app, account.user_id, 3, proposal_id=held)
        await run_tasks(app)
        # The first event of `held` failed: its later events wait for its retry.
        assert len(receiver.received) == 1
        assert data(0)["external_id"] == "0"
        await publish_submitted(app, account.user_id, 1)
        await run_tasks(app)
        # Another object's event is not held up by them.
        assert len(receiver.received) == 2
        assert data(1)["proposal_id"] != str(held)
        clock.advance(timedelta(seconds=7))
        await run_tasks(app)
    held_order = [
        data(index)["external_id"]
        for index in range(len(receiver.received))
        if data(index)["proposal_id"] == str(held)
    ]
    assert held_order == ["0", "0", "1", "2"]


async def test_five_days_of_failures_disable_the_endpoint(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    async with receiving(*[Reply(500)] * 100) as receiver:
        account, endpoint = await account_with_endpoint(client, receiver.url)
        for _ in range(6):
            await publish_submitted(app, account.user_id)
            await run_tasks(app)
            clock.advance(timedelta(days=1))
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
    read = (
        await client.get(f"/api/v1/webhooks/endpoints/{endpoint.id}", headers=account.headers)
    ).json()
    assert read["enabled"] is False
    assert read["disabled_reason"] == "failed every delivery for 5 days"
    assert len(await stored_events(app, "webhook.endpoint_disabled")) == 1
