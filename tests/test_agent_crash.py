"""kill -9 of a real `gigforge worker` in the middle of an agent task: the restarted worker runs
the task's round again and the job ends in review with one set of deliverables, not two.

The worker reaches its model over loopback: the OpenAI sandbox served by this test (the user's
connection is pointed at it), which answers the first model calls of the task and then, while
`hang` is set, never answers, so the worker is killed inside the quality gate.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from factories import AppFactory, connect_openai, register
from gigforge.connections.models import Connection
from gigforge.integrations.openai.sandbox import create_sandbox
from gigforge.jobs.models import Deliverable, JobTask
from gigforge.jobs.service import RUN_TASK
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow, TaskState
from job_support import sent_proposal
from test_worker_crash import _served
from workers import start_worker, wait_for

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
LEASE_SECONDS = 3


class HangsMidTask:
    """An OpenAI-compatible server that answers `answered` chat calls, then hangs while `hang`."""

    def __init__(self, app: Any, answered: int) -> None:
        self.app = app
        self.answered = answered
        self.chats = 0
        self.hang = True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        chatting = scope["type"] == "http" and scope["path"].endswith("/chat/completions")
        if chatting:
            self.chats += 1
            if self.hang and self.chats > self.answered:
                await asyncio.sleep(600)
        await self.app(scope, receive, send)


async def test_an_agent_task_killed_mid_run_resumes_without_duplicate_deliverables(
    app_factory: AppFactory, database_url: str, tmp_path: Any
) -> None:
    broker_url = None
    if database_url.startswith("postgresql"):
        if not AMQP_URL:
            pytest.skip("GIGFORGE_TEST_AMQP_URL is not set; the PostgreSQL run uses RabbitMQ")
        broker_url = AMQP_URL
    model = HangsMidTask(create_sandbox().app, answered=2)
    with _served(model) as port:
        app = await app_factory(sandbox=True, allowed_private_hosts=[f"127.0.0.1:{port}"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            account = await register(http)
            await connect_openai(http, account)
            async with unit_of_work(app.state.database) as session:  # the worker's model
                await session.execute(
                    update(Connection)
                    .where(Connection.integration == "openai")
                    .values(base_url=f"http://127.0.0.1:{port}")
                )
            proposal = await sent_proposal(app, http, account, "upwork")
            job = (
                await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
            ).json()
            accepted = await http.post(f"/api/v1/jobs/{job['id']}/accept", headers=account.headers)
            assert accepted.json()["status"] == "active"

            first = start_worker(
                app,
                broker_url=broker_url,
                allowed_ports=[port],
                lease_seconds=LEASE_SECONDS,
                log=tmp_path / "first.log",
            )
            try:
                await wait_for(
                    lambda: _holds(model.chats > model.answered), "the worker to be mid-task"
                )
                async with unit_of_work(app.state.database) as session:
                    [task] = (await session.execute(select(JobTask))).scalars().all()
                    assert task.status.value == "running"
            finally:
                os.kill(first.pid, signal.SIGKILL)
                first.wait(30)
            model.hang = False

            second = start_worker(
                app,
                broker_url=broker_url,
                allowed_ports=[port],
                lease_seconds=LEASE_SECONDS,
                log=tmp_path / "second.log",
            )
            try:

                async def in_review() -> bool:
                    answer = await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)
                    return bool(answer.json()["status"] == "review")

                await wait_for(in_review, "the restarted worker to finish the task", within=90)
            finally:
                second.terminate()
                second.wait(30)

            review = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    [task] = review["tasks"]
    assert task["version"] == 1
    names = [item["name"] for item in task["output"]]
    assert names
    assert len(names) == len(set(names))
    async with unit_of_work(app.state.database) as session:
        stored = await session.scalar(select(func.count()).select_from(Deliverable))
        row = await session.get(JobTask, uuid.UUID(task["id"]))
        engine_task = (
            await session.execute(select(TaskRow).where(TaskRow.name == RUN_TASK))
        ).scalar_one()
    assert stored == len(names)  # one row per file: the killed run wrote nothing twice
    assert row is not None
    assert row.runs == 2  # the killed run, then the one that finished
    assert engine_task.state is TaskState.done
    assert engine_task.attempts == 2


async def _holds(value: bool) -> bool:
    return value
