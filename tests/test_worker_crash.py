"""kill -9 of a real `gigforge worker` in the middle of a task: after a restart the task runs to
completion exactly once and no event is lost.

SQLite runs with the in-process broker (the worker's own sweeper re-dispatches the abandoned
task); PostgreSQL runs with RabbitMQ, where the killed worker's unacknowledged message is also
delivered again. The third parties are sandboxes served on loopback ports by this test: a Remote
OK feed made slow so that the worker is caught inside a scan, and Freelancer.com, which records
a bid and then never answers, so that the worker dies after the bid was placed and before it
learnt so: the worst moment for a side effect that must happen once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select, update

from factories import AppFactory, connect_oauth, register, stored_events
from gigforge.connections.models import Connection
from gigforge.integrations.freelancer.sandbox import FreelancerSandbox
from gigforge.integrations.remoteok.sandbox import RemoteOKSandbox, create_sandbox
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow, TaskState
from gigforge.opportunities.models import Opportunity
from gigforge.opportunities.scanning import Scanner
from gigforge.opportunities.scheduler import SCAN_TASK, plan_scans
from gigforge.proposals.submission import SUBMIT_TASK
from workers import start_worker, wait_for

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
LEASE_SECONDS = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _served(asgi_app: Any) -> Iterator[int]:
    """`asgi_app` on a loopback port, served from a thread of this process."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = server.force_exit = True  # the killed worker's call never ends
        thread.join(10)


@pytest.fixture
def feed() -> Iterator[tuple[RemoteOKSandbox, int]]:
    """The Remote OK sandbox on a loopback port."""
    sandbox = create_sandbox()
    with _served(sandbox.app) as port:
        yield sandbox, port


class SilentAfterBidding:
    """Freelancer.com that records a bid and then, while `silent` is set, never answers."""

    def __init__(self, sandbox: FreelancerSandbox) -> None:
        self.sandbox = sandbox
        self.silent = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        bidding = scope["type"] == "http" and scope["method"] == "POST"
        if not (bidding and self.silent and scope["path"].endswith("/projects/0.1/bids/")):
            await self.sandbox.app(scope, receive, send)
            return

        async def swallow(message: Any) -> None:
            return None

        await self.sandbox.app(scope, receive, swallow)  # the bid is placed...
        await asyncio.sleep(600)  # ...and the answer never comes


def _worker(app: FastAPI, broker_url: str | None, port: int) -> subprocess.Popen[bytes]:
    return start_worker(
        app, broker_url=broker_url, allowed_ports=[port], lease_seconds=LEASE_SECONDS
    )


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
    first = start_worker(
        app, broker_url=broker_url, allowed_ports=[port], lease_seconds=LEASE_SECONDS
    )
    try:
        await wait_for(
            lambda: _async(sandbox.faults.served > served_before), "the worker to call the feed"
        )
        assert (await scan_task()).state is TaskState.running
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(30)
    sandbox.faults.latency = 0

    second = start_worker(
        app, broker_url=broker_url, allowed_ports=[port], lease_seconds=LEASE_SECONDS
    )
    try:

        async def done() -> bool:
            return (await scan_task()).state is TaskState.done

        await wait_for(done, "the restarted worker to finish the scan")
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


async def test_a_submission_killed_after_the_bid_was_placed_bids_once_after_a_restart(
    app_factory: AppFactory, database_url: str
) -> None:
    broker_url = None
    if database_url.startswith("postgresql"):
        if not AMQP_URL:
            pytest.skip("GIGFORGE_TEST_AMQP_URL is not set; the PostgreSQL run uses RabbitMQ")
        broker_url = AMQP_URL
    app = await app_factory(sandbox=True)
    sandbox: FreelancerSandbox = app.state.sandboxes["freelancer"]
    freelancer = SilentAfterBidding(sandbox)
    with _served(freelancer) as port:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            account = await register(client)
            connection_id = await connect_oauth(client, account, "freelancer")
            await Scanner(app.state.integrations).scan(uuid.UUID(connection_id))
            listed = await client.get(
                "/api/v1/jobs/opportunities",
                params={"platform": "freelancer"},
                headers=account.headers,
            )
            job = listed.json()["opportunities"][0]
            drafted = await client.post(
                "/api/v1/proposals",
                json={"opportunity_id": job["id"], "text": "I can build this. Step one: ..."},
                headers=account.headers,
            )
            proposal_id = drafted.json()["id"]
            # From here on the worker, not in sandbox mode, reaches Freelancer.com over HTTP.
            async with unit_of_work(app.state.database) as session:
                await session.execute(
                    update(Connection)
                    .where(Connection.id == uuid.UUID(connection_id))
                    .values(base_url=f"http://127.0.0.1:{port}")
                )
            approved = await client.post(
                f"/api/v1/proposals/{proposal_id}/approve", headers=account.headers
            )
            assert approved.json()["status"] == "approved", approved.text

            async def status() -> str:
                response = await client.get(
                    f"/api/v1/proposals/{proposal_id}", headers=account.headers
                )
                return str(response.json()["status"])

            freelancer.silent = True
            first = start_worker(
                app, broker_url=broker_url, allowed_ports=[port], lease_seconds=LEASE_SECONDS
            )
            try:
                await wait_for(lambda: _async(len(sandbox.bids) == 1), "the bid to be placed")
                assert await status() == "submitting"
            finally:
                os.kill(first.pid, signal.SIGKILL)
                first.wait(30)
            freelancer.silent = False

            second = start_worker(
                app, broker_url=broker_url, allowed_ports=[port], lease_seconds=LEASE_SECONDS
            )
            try:

                async def submitted() -> bool:
                    return await status() == "submitted"

                await wait_for(submitted, "the restarted worker to record the submission")
            finally:
                second.terminate()
                second.wait(30)
            final = (
                await client.get(f"/api/v1/proposals/{proposal_id}", headers=account.headers)
            ).json()

    assert len(sandbox.bids) == 1  # found by the restarted worker, not placed again
    [bid] = sandbox.bids.values()
    assert final["external_id"] == str(bid["id"])
    assert bid["description"] == "I can build this. Step one: ..."
    async with unit_of_work(app.state.database) as session:
        task = (
            await session.execute(select(TaskRow).where(TaskRow.name == SUBMIT_TASK))
        ).scalar_one()
    assert (task.state, task.attempts) == (TaskState.done, 2)
    submitted_events = await stored_events(app, "proposal.submitted")
    assert [event.payload["proposal_id"] for event in submitted_events] == [proposal_id]
    assert [event.type for event in await stored_events(app, "proposal.approved")] == [
        "proposal.approved"
    ]
