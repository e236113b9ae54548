"""Dead background work for admins: GET /api/v1/admin/tasks, retry and discard, audited."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import Account, register
from gigforge.audit.models import AuditRecord
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.task_engine import TaskEngine
from gigforge.kit.tasks import PENDING_DISPATCH, TaskContext, TaskRow, TaskState, enqueue, registry

outcomes: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_outcomes() -> None:
    """Each test (and each database it runs on) starts with no task having run."""
    outcomes.clear()


@registry.task("admintests.flaky", max_attempts=1, backoff=timedelta(0))
async def _flaky(context: TaskContext, *, label: str) -> None:
    if label not in outcomes:
        outcomes.append(label)
        raise RuntimeError(f"remote said no to {label}")
    outcomes.append(f"{label} ok")


@registry.task("admintests.fine", backoff=timedelta(0))
async def _fine(context: TaskContext, *, label: str) -> None:
    outcomes.append(label)


async def make_dead_task(database: Database, label: str) -> uuid.UUID:
    """A task that fails its only attempt: enqueued, run once, dead."""
    async with unit_of_work(database) as session:
        task_id = await enqueue(session, "admintests.flaky", label=label)
    assert task_id is not None
    assert await TaskEngine(database, registry).run(task_id) is TaskState.dead
    return task_id


async def _admin_and_member(client: httpx.AsyncClient) -> tuple[Account, Account]:
    return await register(client), await register(client)


async def test_dead_tasks_are_listed_for_admins_with_their_last_error(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, _ = await _admin_and_member(client)
    dead = await make_dead_task(app.state.database, "invoice-7")
    async with unit_of_work(app.state.database) as session:
        await enqueue(session, "admintests.fine", label="queued")
    response = await client.get(
        "/api/v1/admin/tasks", params={"state": "dead"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    [task] = body["items"]
    assert task["id"] == str(dead)
    assert task["name"] == "admintests.flaky"
    assert task["args"] == {"label": "invoice-7"}
    assert (task["state"], task["attempts"], task["max_attempts"]) == ("dead", 1, 1)
    assert "RuntimeError: remote said no to invoice-7" in task["last_error"]
    assert task["finished_at"] is not None
    assert task["created_at"] <= task["due_at"]
    everything = await client.get("/api/v1/admin/tasks", headers=admin.headers)
    assert everything.json()["total"] == 2


async def test_task_admin_is_refused_to_members_and_strangers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _, member = await _admin_and_member(client)
    dead = await make_dead_task(app.state.database, "x")
    for method, path in (
        ("GET", "/api/v1/admin/tasks"),
        ("POST", f"/api/v1/admin/tasks/{dead}/retry"),
        ("POST", f"/api/v1/admin/tasks/{dead}/discard"),
    ):
        assert (await client.request(method, path)).status_code == 401
        refused = await client.request(method, path, headers=member.headers)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"


async def test_retry_requeues_a_dead_task_with_fresh_attempts_and_it_runs_again(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin, _ = await _admin_and_member(client)
    database: Database = app.state.database
    dead = await make_dead_task(database, "payout-3")
    response = await client.post(f"/api/v1/admin/tasks/{dead}/retry", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["attempts"]) == ("pending", 0)
    row = await session.get(TaskRow, dead)
    assert row is not None
    assert (row.state, row.attempts, row.finished_at) == (TaskState.pending, 0, None)
    assert await TaskEngine(database, registry).run(dead) is TaskState.done
    assert outcomes[-1] == "payout-3 ok"
    [record] = (
        await session.execute(select(AuditRecord).where(AuditRecord.action == "task.retried"))
    ).scalars()
    assert (record.target_type, record.target_id) == ("task", str(dead))
    assert record.actor_user_id == uuid.UUID(admin.user_id)
    assert record.data["name"] == "admintests.flaky"


async def test_requeue_hands_the_task_to_the_dispatcher_only_after_commit(
    app: FastAPI,
) -> None:
    from gigforge.kit.tasks import requeue

    database: Database = app.state.database
    dead = await make_dead_task(database, "y")
    sent: list[uuid.UUID] = []

    class Recorder:
        def dispatch(self, task_ids: object) -> None:
            sent.extend(task_ids)  # type: ignore[call-overload]

    database.dispatcher = Recorder()
    try:
        async with unit_of_work(database) as session:
            assert await requeue(session, dead)
            assert session.info[PENDING_DISPATCH] == [dead]
            assert sent == []
            assert not await requeue(session, dead)  # pending now: not requeued twice
        assert sent == [dead]
        async with unit_of_work(database) as session:
            row = await session.get(TaskRow, dead)
            assert row is not None
            assert row.dispatched_at is not None  # sent: the sweeper leaves it alone for now
    finally:
        database.dispatcher = None


async def test_retry_of_a_task_that_is_not_dead_is_a_409_problem(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, _ = await _admin_and_member(client)
    async with unit_of_work(app.state.database) as session:
        pending = await enqueue(session, "admintests.fine", label="waiting")
    for verb in ("retry", "discard"):
        response = await client.post(f"/api/v1/admin/tasks/{pending}/{verb}", headers=admin.headers)
        assert response.status_code == 409, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["state"] == "pending"
        assert "is pending" in response.json()["detail"]


async def test_unknown_task_ids_are_404_and_malformed_ones_422(
    client: httpx.AsyncClient,
) -> None:
    admin, _ = await _admin_and_member(client)
    missing = await client.post(f"/api/v1/admin/tasks/{uuid.uuid4()}/retry", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    malformed = await client.post("/api/v1/admin/tasks/nope/discard", headers=admin.headers)
    assert malformed.status_code == 422
    bad_state = await client.get(
        "/api/v1/admin/tasks", params={"state": "zombie"}, headers=admin.headers
    )
    assert bad_state.status_code == 422


async def test_discard_sets_a_dead_task_aside_audited_and_it_can_still_be_retried(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin, _ = await _admin_and_member(client)
    dead = await make_dead_task(app.state.database, "spam-post")
    response = await client.post(f"/api/v1/admin/tasks/{dead}/discard", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "discarded"
    listed = await client.get(
        "/api/v1/admin/tasks", params={"state": "dead"}, headers=admin.headers
    )
    assert listed.json()["total"] == 0
    again = await client.post(f"/api/v1/admin/tasks/{dead}/discard", headers=admin.headers)
    assert again.status_code == 409
    [record] = (
        await session.execute(select(AuditRecord).where(AuditRecord.action == "task.discarded"))
    ).scalars()
    assert record.target_id == str(dead)
    retried = await client.post(f"/api/v1/admin/tasks/{dead}/retry", headers=admin.headers)
    assert retried.json()["state"] == "pending"
