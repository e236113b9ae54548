"""Expiry and renewal: a level lapses after VALIDITY, the schedule publishes its expiry once,
and the shorter renewal exam extends it inside its window."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from certification_support import Clock, install_clock, pass_level, submit
from fastapi import FastAPI

from factories import register, stored_events
from gigforge.certifications import rules
from gigforge.certifications.tasks import EXPIRE_TASK
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.schedules import run_period
from gigforge.worker import SCHEDULES


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return install_clock(monkeypatch)


async def _renew(client: httpx.AsyncClient, headers: dict[str, str], level: int) -> httpx.Response:
    return await client.post("/api/v1/certifications/renew", json={"level": level}, headers=headers)


async def _run_expiry_schedule(app: FastAPI) -> int:
    """One period of the certifications schedule, through the scheduler's own enqueue."""
    schedule = next(item for item in SCHEDULES if item.task == EXPIRE_TASK)
    async with unit_of_work(app.state.database) as session:
        assert await run_period(session, schedule, utcnow())
    return int(await app.state.tasks.run_due())


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_the_expiry_schedule_publishes_certification_expired_once(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    await pass_level(client, account, 1)
    assert await _run_expiry_schedule(app) == 1
    assert [e.type for e in await stored_events(app, "certification.")] == ["certification.passed"]

    clock.advance(rules.VALIDITY + timedelta(seconds=1))
    await _run_expiry_schedule_next_period(app)
    events = await stored_events(app, "certification.")
    assert [e.type for e in events] == ["certification.passed", "certification.expired"]
    assert events[1].payload["level"] == 1
    assert str(events[1].user_id) == account.user_id

    await _run_expiry_schedule_next_period(app, periods=2)
    assert len(await stored_events(app, "certification.expired")) == 1
    mine = (await client.get("/api/v1/users/me/certifications", headers=account.headers)).json()
    assert mine["certification_level"] == 0
    assert mine["certifications"][0]["status"] == "expired"


async def _run_expiry_schedule_next_period(app: FastAPI, periods: int = 1) -> None:
    schedule = next(item for item in SCHEDULES if item.task == EXPIRE_TASK)
    async with unit_of_work(app.state.database) as session:
        assert await run_period(session, schedule, utcnow() + schedule.every * periods)
    await app.state.tasks.run_due()


async def test_the_sweep_closes_attempts_whose_time_ran_out(
    app: FastAPI, client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    started = await client.post("/api/v1/certifications/exams/1/start", headers=account.headers)
    clock.advance(rules.FULL_EXAM.time_limit + timedelta(minutes=1))
    await _run_expiry_schedule(app)
    results = (
        await client.get("/api/v1/certifications/exams/1/results", headers=account.headers)
    ).json()
    assert results["in_progress"] is False
    assert [(r["attempt_id"], r["status"]) for r in results["results"]] == [
        (started.json()["attempt_id"], "expired")
    ]


async def test_renewal_opens_before_expiry_and_extends_from_the_old_expiry(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    passed = await pass_level(client, account, 1)
    expires = _at(passed["certification_expires_at"])

    early = await _renew(client, account.headers, 1)
    assert early.status_code == 409
    assert early.json()["type"] == "urn:gigforge:problem:renewal-not-open"

    clock.advance(rules.VALIDITY - rules.RENEWAL_OPENS + timedelta(days=1))
    mine = (await client.get("/api/v1/users/me/certifications", headers=account.headers)).json()
    assert mine["certifications"][0]["can_renew"] is True
    renewal = await _renew(client, account.headers, 1)
    assert renewal.status_code == 201, renewal.text
    attempt = renewal.json()
    assert attempt["kind"] == "renewal"
    assert len(attempt["questions"]) == rules.RENEWAL_EXAM.questions
    assert attempt["seconds_left"] == int(rules.RENEWAL_EXAM.time_limit.total_seconds())

    result = (await submit(client, account, 1, attempt)).json()
    assert result["status"] == "passed"
    assert result["kind"] == "renewal"
    assert _at(result["certification_expires_at"]) == expires + rules.VALIDITY
    mine = (await client.get("/api/v1/users/me/certifications", headers=account.headers)).json()
    assert mine["certifications"][0]["renewed_at"] is not None


async def test_a_renewal_in_the_grace_period_restores_the_level_from_now(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    await pass_level(client, account, 1)
    clock.advance(rules.VALIDITY + timedelta(days=10))
    assert (await client.get("/api/v1/users/me", headers=account.headers)).json()[
        "certification_level"
    ] == 0
    attempt = (await _renew(client, account.headers, 1)).json()
    result = (await submit(client, account, 1, attempt)).json()
    assert _at(result["certification_expires_at"]) == clock.now + rules.VALIDITY
    assert (await client.get("/api/v1/users/me", headers=account.headers)).json()[
        "certification_level"
    ] == 1


async def test_after_the_grace_period_only_the_full_exam_remains(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    await pass_level(client, account, 1)
    clock.advance(rules.VALIDITY + rules.RENEWAL_GRACE + timedelta(days=1))
    refused = await _renew(client, account.headers, 1)
    assert refused.status_code == 409
    assert "full level 1 exam" in refused.json()["detail"]
    again = await pass_level(client, account, 1)
    assert _at(again["certification_expires_at"]) == clock.now + rules.VALIDITY


async def test_nothing_to_renew_without_the_level(client: httpx.AsyncClient) -> None:
    account = await register(client)
    refused = await _renew(client, account.headers, 1)
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:gigforge:problem:renewal-not-open"
    assert (await _renew(client, account.headers, 7)).status_code == 404


async def test_a_failed_renewal_cools_down_and_keeps_the_level_until_it_expires(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    await pass_level(client, account, 1)
    clock.advance(rules.VALIDITY - timedelta(days=5))
    attempt = (await _renew(client, account.headers, 1)).json()
    failed = (await submit(client, account, 1, attempt, right=0)).json()
    assert failed["status"] == "failed"
    assert (await _renew(client, account.headers, 1)).json()["type"].endswith("exam-cooling-down")
    me = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["certification_level"] == 1
