"""Two `gigforge worker` processes on PostgreSQL with RabbitMQ share the work and run each
task once.

Twenty-four scans (one per Remote OK connection, against a loopback feed that answers slowly,
so that the work outlasts one worker's share) are planned the way the scheduler plans them.
Both workers sweep the same rows and may send the same task twice; the atomic claim lets one
run through. Each worker's own log says which connections it scanned: the two sets split the
work between them, with nothing run twice and nothing left out.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from factories import AppFactory, register
from gigforge.integrations.remoteok.sandbox import create_sandbox
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow, TaskState
from gigforge.opportunities.models import Opportunity
from gigforge.opportunities.scheduler import SCAN_TASK, plan_scans
from test_worker_crash import _served
from workers import start_worker, wait_for

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
SOURCES = 24


def _scanned_by(log: Path) -> list[str]:
    """The connections whose feed this worker fetched, from its own log lines."""
    scanned = []
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("event") == "integration.call" and record.get("integration") == "remoteok":
            scanned.append(record["connection"])
    return scanned


async def test_two_workers_share_the_scans_and_run_each_once(
    app_factory: AppFactory, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("scale-out runs on PostgreSQL; the SQLite run is the embedded topology")
    if not AMQP_URL:
        pytest.skip("GIGFORGE_TEST_AMQP_URL is not set; two workers share work through RabbitMQ")
    sandbox = create_sandbox()
    sandbox.faults.latency = 0.5
    with _served(sandbox.app) as port:
        app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{port}"])
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        workers = [
            start_worker(app, broker_url=AMQP_URL, allowed_ports=[port], log=log) for log in logs
        ]
        try:

            async def both_started() -> bool:
                return all("worker started" in log.read_text() for log in logs)

            # Both are up before there is work, so neither has a head start.
            await wait_for(both_started, "both workers to start", within=120)
            sources: list[str] = []
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as client:
                account = await register(client)
                for number in range(SOURCES):
                    created = await client.post(
                        "/api/v1/connections",
                        json={
                            "integration": "remoteok",
                            "base_url": f"http://127.0.0.1:{port}",
                            "name": f"remote-ok-{number}",
                            "config": {},
                        },
                        headers=account.headers,
                    )
                    assert created.status_code == 201, created.text
                    sources.append(created.json()["id"])
            # Planned as the scheduler plans them (the workers' own scheduler may plan some
            # first); the workers' sweepers send the tasks.
            async with unit_of_work(app.state.database) as session:
                await plan_scans(session, app.state.integrations)

            async def all_done() -> bool:
                async with unit_of_work(app.state.database) as session:
                    done = await session.scalar(
                        select(func.count())
                        .select_from(TaskRow)
                        .where(TaskRow.name == SCAN_TASK, TaskRow.state == TaskState.done)
                    )
                return done == SOURCES

            await wait_for(all_done, "both workers to finish the scans", within=120)
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(30)

    first, second = (_scanned_by(log) for log in logs)
    assert first, "the first worker took a share of the scans"
    assert second, "the second worker took a share of the scans"
    assert sorted(first + second) == sorted(sources)
    async with unit_of_work(app.state.database) as session:
        attempts = (
            await session.execute(select(TaskRow.attempts).where(TaskRow.name == SCAN_TASK))
        ).scalars()
        assert set(attempts) == {1}
        stored = await session.scalar(select(func.count()).select_from(Opportunity))
    assert stored == len(sandbox.jobs)  # the same listings from every source, stored once
