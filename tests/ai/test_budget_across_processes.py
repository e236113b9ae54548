"""The monthly AI budget is reserved in the database, so it holds across worker processes."""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import register
from gigforge.ai import spend
from gigforge.ai.models import AISpendMonth, AISpendReservation, AIUsage
from gigforge.integrations.framework import IntegrationRuntime, Registry
from gigforge.integrations.openai import OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, create_sandbox
from gigforge.kit.clock import utcnow

WORKER = Path(__file__).with_name("spend_worker.py")
SANDBOX_URL = "http://spend.openai.test"
# A summary of the worker's prompt costs about 60 micro-dollars on gpt-4o-mini: room for a few
# dozen calls, far fewer than the two processes try.
BUDGET = 2_000
CALLS_EACH = 40


async def _user_with_openai(app: FastAPI, client: httpx.AsyncClient) -> uuid.UUID:
    context = app.state.integrations
    context.registry = Registry([OpenAIConnector])
    # The test process only creates the connection (its test call); the workers make the calls.
    transport = httpx.ASGITransport(app=create_sandbox().app)
    context.runtime = IntegrationRuntime(transports={SANDBOX_URL: transport})
    account = await register(client)
    created = await client.post(
        "/api/v1/connections",
        json={
            "integration": "openai",
            "base_url": SANDBOX_URL,
            "config": {"api_key": SANDBOX_API_KEY},
        },
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    return uuid.UUID(account.user_id)


def _wait_for(*files: Path) -> None:
    deadline = time.monotonic() + 120
    while not all(file.exists() for file in files):
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.01)


async def _worker(settings_file: Path, user_id: uuid.UUID, ready: Path, go: Path) -> dict[str, int]:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        str(settings_file),
        str(user_id),
        str(BUDGET),
        str(CALLS_EACH),
        str(ready),
        str(go),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=240)
    assert child.returncode == 0, err.decode()[-3000:]
    result: dict[str, int] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def test_two_worker_processes_spending_at_once_cannot_pass_the_monthly_budget(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    user_id = await _user_with_openai(app, client)
    settings_file = tmp_path / "settings.pickle"
    settings_file.write_bytes(pickle.dumps(app.state.settings))
    go = tmp_path / "go"
    ready = [tmp_path / "ready-1", tmp_path / "ready-2"]
    workers = [asyncio.create_task(_worker(settings_file, user_id, file, go)) for file in ready]
    await asyncio.to_thread(_wait_for, *ready)
    go.touch()
    results = await asyncio.gather(*workers)

    assert all(result["answered"] > 0 for result in results), results
    assert sum(result["refused"] for result in results) > 0, results
    spent = sum(result["cost"] for result in results)
    assert spent <= BUDGET
    recorded = await session.scalar(
        select(func.coalesce(func.sum(AIUsage.cost_micro_usd), 0)).where(AIUsage.user_id == user_id)
    )
    assert recorded == spent
    month = await session.get(AISpendMonth, (user_id, spend.month_of(utcnow())))
    assert month is not None
    assert (month.spent_micro_usd, month.reserved_micro_usd) == (spent, 0)
    left = await session.scalar(select(func.count()).select_from(AISpendReservation))
    assert left == 0


async def test_a_reservation_left_by_a_dead_process_is_released_once_it_expires(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user_id = await _user_with_openai(app, client)
    engine = app.state.database.engine
    now = utcnow()
    held = await spend.reserve(engine, user_id, amount=900, budget=1_000, now=now)
    assert isinstance(held, spend.Reservation)
    # Its process dies here: the reservation is never settled.
    refused = await spend.reserve(engine, user_id, amount=200, budget=1_000, now=now)
    assert refused == spend.Refusal(spent=0, reserved=900)
    later = now + spend.RESERVATION_TTL + timedelta(seconds=1)
    taken = await spend.reserve(engine, user_id, amount=200, budget=1_000, now=later)
    assert isinstance(taken, spend.Reservation)
    async with engine.begin() as connection:
        await spend.settle(connection, held, cost=50)  # a late settlement is not released twice
        await spend.settle(connection, taken, cost=150)
    month = await session.get(AISpendMonth, (user_id, spend.month_of(now)))
    assert month is not None
    await session.refresh(month)
    assert (month.spent_micro_usd, month.reserved_micro_usd) == (200, 0)


async def test_the_months_first_reservation_counts_usage_recorded_before_it(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user_id = await _user_with_openai(app, client)
    session.add(
        AIUsage(
            user_id=user_id,
            task="summary",
            integration="openai",
            model="gpt-4o-mini",
            prompt_tokens=1,
            completion_tokens=1,
            cost_micro_usd=700,
            latency_ms=1,
        )
    )
    await session.commit()
    engine = app.state.database.engine
    refused = await spend.reserve(engine, user_id, amount=400, budget=1_000, now=utcnow())
    assert refused == spend.Refusal(spent=700, reserved=0)
    assert isinstance(
        await spend.reserve(engine, user_id, amount=300, budget=1_000, now=utcnow()),
        spend.Reservation,
    )
