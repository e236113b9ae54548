"""Scheduled scans (planned once per due source, run as tasks) and `gigforge scan`."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from typer.testing import CliRunner

from factories import AppFactory, register
from gigforge.cli import app as cli
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.models import SourceSchedule
from gigforge.opportunities.scheduler import plan_scans
from gigforge.worker import SCHEDULES


@pytest.fixture
async def sandbox_app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(sandbox=True)


async def _scan_due(app: FastAPI) -> dict[str, SourceSchedule]:
    """What the scheduler and a worker do: plan the due sources, run their scan tasks; the
    schedules of the sources planned, by integration."""
    context: IntegrationContext = app.state.integrations
    async with unit_of_work(context.database) as session:
        planned = set(await plan_scans(session, context))
    await app.state.tasks.run_due()
    async with unit_of_work(context.database) as session:
        return {
            connection.integration: schedule
            for schedule, connection in await session.execute(
                select(SourceSchedule, Connection).join(
                    Connection, Connection.id == SourceSchedule.connection_id
                )
            )
            if schedule.connection_id in planned
        }


async def _connect_remoteok(app: FastAPI) -> dict[str, str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await register(client)
        created = await client.post(
            "/api/v1/connections",
            json={"integration": "remoteok", "config": {}},
            headers=account.headers,
        )
        assert created.status_code == 201, created.text
        return {"token": account.access_token, "connection": created.json()["id"]}


async def test_due_sources_are_scanned_once_then_wait_for_their_interval(
    sandbox_app: FastAPI,
) -> None:
    await _connect_remoteok(sandbox_app)
    first = await _scan_due(sandbox_app)
    assert list(first) == ["remoteok"]
    schedule = first["remoteok"]
    assert schedule.last_found > 0
    assert schedule.claimed_until is None
    assert schedule.next_run_at > utcnow() + timedelta(minutes=10)
    assert await _scan_due(sandbox_app) == {}


async def test_a_claimed_source_is_not_scanned_by_a_second_worker(
    sandbox_app: FastAPI,
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    await _connect_remoteok(sandbox_app)
    await _scan_due(sandbox_app)
    async with unit_of_work(context.database) as session:
        await session.execute(
            update(SourceSchedule).values(
                next_run_at=utcnow() - timedelta(seconds=1),
                claimed_until=utcnow() + timedelta(minutes=5),
            )
        )
    assert await _scan_due(sandbox_app) == {}  # someone else holds the lease
    async with unit_of_work(context.database) as session:
        await session.execute(
            update(SourceSchedule).values(
                claimed_until=utcnow() - timedelta(seconds=1),
            )
        )
    again = await _scan_due(sandbox_app)  # the lease ran out: the source is taken again
    assert list(again) == ["remoteok"]
    assert again["remoteok"].last_found == 0  # only listings newer than the last run are asked


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_SANDBOX", "true")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_PARALLELISM", "1")
    for name in ("GIGFORGE_DATABASE_URL", "GIGFORGE_SECRET_KEY", "GIGFORGE_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


async def test_scan_command_reports_each_source(cli_env: Path) -> None:
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    await asyncio.to_thread(
        invoke,
        "user",
        "create",
        "--email",
        "me@example.com",
        "--full-name",
        "Me",
        "--password",
        "a long cli passphrase",
    )
    nothing = await asyncio.to_thread(runner.invoke, cli, ["scan"])
    assert nothing.exit_code == 1
    assert "no active job sources" in nothing.output
    await asyncio.to_thread(invoke, "connect", "remoteok")
    await asyncio.to_thread(invoke, "connect", "himalayas")
    output = await asyncio.to_thread(invoke, "scan")
    assert "remoteok (default)" in output
    assert "himalayas (default)" in output
    assert "ok" in output
    only = await asyncio.to_thread(invoke, "scan", "--source", "himalayas")
    assert "remoteok" not in only


async def test_a_failing_source_is_reported_and_the_others_still_run(
    sandbox_app: FastAPI,
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    context.runtime.sleep = _no_wait
    account = await _connect_remoteok(sandbox_app)
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        created = await client.post(
            "/api/v1/connections",
            json={"integration": "himalayas", "config": {}},
            headers={"Authorization": f"Bearer {account['token']}"},
        )
        assert created.status_code == 201, created.text
    sandbox_app.state.sandboxes["himalayas"].faults.error_rate = 1.0
    schedules = await _scan_due(sandbox_app)
    assert schedules["himalayas"].last_error is not None
    assert schedules["remoteok"].last_error is None
    assert schedules["remoteok"].last_found > 0


async def _no_wait(delay: float) -> None:
    return None


async def test_worker_once_does_what_is_due_and_exits(cli_env: Path) -> None:
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    create = ["user", "create", "--email", "cron@example.com", "--full-name", "Cron"]
    await asyncio.to_thread(invoke, *create, "--password", "a long cli passphrase")
    await asyncio.to_thread(invoke, "connect", "remoteok", "--user", "cron@example.com")
    first = await asyncio.to_thread(invoke, "worker", "--once")
    # Every schedule's first period (the scan plan among them), and the plan's one scan.
    schedules = len(SCHEDULES)
    assert (
        f"Worked once: {schedules} schedule(s) due, {schedules + 1} task run(s) finished." in first
    )
    again = await asyncio.to_thread(invoke, "worker", "--once")
    # Each schedule runs once per period; a new period may have begun meanwhile for some of
    # them. Either way the source is not scanned again before its interval: one run each.
    ran = re.search(r"Worked once: (\d+) schedule\(s\) due, (\d+) task run\(s\) finished\.", again)
    assert ran is not None, again
    assert ran.group(1) == ran.group(2), again
