"""kill -9 of a real `gigforge worker` in the middle of a task: after a restart the task runs to
completion exactly once and no event is lost.

SQLite runs with the in-process broker (the worker's own sweeper re-dispatches the abandoned
task); PostgreSQL runs with RabbitMQ, where the killed worker's unacknowledged message is also
delivered again. The job source is a Remote OK sandbox served on a loopback port by this test,
made slow so that the worker is caught inside its call.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from factories import AppFactory, register, stored_events
from gigforge.integrations.remoteok.sandbox import RemoteOKSandbox, create_sandbox
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow, TaskState
from gigforge.opportunities.models import Opportunity
from gigforge.opportunities.scheduler import SCAN_TASK, plan_scans

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
LEASE_SECONDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def feed() -> Iterator[tuple[RemoteOKSandbox, int]]:
    """The Remote OK sandbox on a loopback port, served from a thread of this process."""
    sandbox = create_sandbox()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(sandbox.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield sandbox, port
    server.should_exit = server.force_exit = True  # the killed worker's call never ends
    thread.join(10)


def _worker(app: FastAPI, broker_url: str | None, port: int) -> subprocess.Popen[bytes]:
    settings = app.state.settings
    env = {
        **os.environ,
        "GIGFORGE_ENV": "test",
        "GIGFORGE_CONFIG": str(Path(settings.data_dir) / "absent.toml"),
        "GIGFORGE_DATA_DIR": str(settings.data_dir),
        "GIGFORGE_DATABASE_URL": settings.effective_database_url,
        "GIGFORGE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "GIGFORGE_MASTER_KEY": settings.master_key.get_secret_value(),
        "GIGFORGE_TASK_LEASE_SECONDS": str(LEASE_SECONDS),
        "GIGFORGE_ALLOWED_PRIVATE_HOSTS": f'["127.0.0.1:{port}"]',
        "GIGFORGE_LOG_LEVEL": "WARNING",
    }
    env.pop("GIGFORGE_BROKER_URL", None)
    if broker_url:
        env["GIGFORGE_BROKER_URL"] = broker_url
    return subprocess.Popen(
        [sys.executable, "-m", "gigforge", "worker", "--concurrency", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for(condition: object, what: str, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_scan_killed_mid_task_completes_exactly_once_after_a_restart(
    app_factory: AppFactory, database_url: str, feed: tuple[RemoteOKSandbox, int]
) -> None:
    sandbox, port = feed
    broker_url = None
    if database_url.startswith("postgresql"):
        if not AMQP_URL:
            pytest.skip("GIGFORGE_TEST_AMQP_URL is not set; the PostgreSQL run uses RabbitMQ")
        broker_url = AMQP_URL
    app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{port}"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        account = await register(client)
        created = await client.post(
            "/api/v1/connections",
            json={"integration": "remoteok", "base_url": f"http://127.0.0.1:{port}", "config": {}},
            headers=account.headers,
        )
        assert created.status_code == 201, created.text
    async with unit_of_work(app.state.database) as session:  # what the scheduler does
        [connection_id] = await plan_scans(session, app.state.integrations)

    async def scan_task() -> TaskRow:
        async with unit_of_work(app.state.database) as session:
            return (
                await session.execute(select(TaskRow).where(TaskRow.name == SCAN_TASK))
            ).scalar_one()

    sandbox.faults.latency = 600  # the worker will hang inside its call to the feed
    served_before = sandbox.faults.served
    first = _worker(app, broker_url, port)
    try:
        await _wait_for(
            lambda: _async(sandbox.faults.served > served_before), "the worker to call the feed"
        )
        assert (await scan_task()).state is TaskState.running
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
    sandbox.faults.latency = 0

    second = _worker(app, broker_url, port)
    try:

        async def done() -> bool:
            return (await scan_task()).state is TaskState.done

        await _wait_for(done, "the restarted worker to finish the scan")
    finally:
        second.terminate()
        second.wait(30)

    task = await scan_task()
    assert task.attempts == 2  # the killed run, then the one that completed
    assert task.args == {"connection_id": str(connection_id)}
    async with unit_of_work(app.state.database) as session:
        stored = await session.scalar(select(func.count()).select_from(Opportunity))
    assert stored == len(sandbox.jobs)
    found = await stored_events(app, "opportunity.found")
    assert len(found) == stored  # one event per listing: none lost, none doubled
    assert len({event.payload["opportunity_id"] for event in found}) == stored
    assert {event.user_id for event in found} == {uuid.UUID(account.user_id)}


async def _async(value: bool) -> bool:
    return value
