"""/admin/tasks over HTTP: dead tasks with their last error, retried or discarded by an admin."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import register
from gigforge.audit.models import AuditRecord
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.task_engine import TaskEngine
from gigforge.kit.tasks import TaskContext, TaskRow, TaskState, enqueue, registry
from web_support import csrf_of, sign_in


@registry.task("webadmintests.fails", max_attempts=1, backoff=timedelta(0))
async def _fails(context: TaskContext, *, invoice_id: str) -> None:
    raise RuntimeError(f"payment provider refused invoice {invoice_id} <script>")


async def dead_task(database: Database, invoice_id: str) -> uuid.UUID:
    async with unit_of_work(database) as session:
        task_id = await enqueue(session, "webadmintests.fails", invoice_id=invoice_id)
    assert task_id is not None
    assert await TaskEngine(database, registry).run(task_id) is TaskState.dead
    return task_id


async def _state(sandbox_app: FastAPI, task_id: uuid.UUID) -> TaskState:
    database: Database = sandbox_app.state.database
    async with unit_of_work(database) as session:
        row = await session.get(TaskRow, task_id)
        assert row is not None
        return row.state


async def test_the_admin_page_lists_dead_tasks_with_their_escaped_last_error(
    web: httpx.AsyncClient, sandbox_app: FastAPI
) -> None:
    admin = await register(web)
    await sign_in(web, admin)
    task_id = await dead_task(sandbox_app.state.database, "INV-42")
    hub = await web.get("/settings")
    assert 'href="/admin/tasks"' in hub.text
    page = await web.get("/admin/tasks")
    assert page.status_code == 200, page.text
    assert "webadmintests.fails" in page.text
    assert "RuntimeError: payment provider refused invoice INV-42 &lt;script&gt;" in page.text
    assert "invoice_id: <code>INV-42</code>" in page.text
    assert f'action="/admin/tasks/{task_id}/retry"' in page.text
    assert f'action="/admin/tasks/{task_id}/discard"' in page.text
    assert "1 of 1" in page.text
    assert "{" not in page.text.split("<main", 1)[-1].split("</main>", 1)[0]


async def test_retry_from_the_page_queues_the_task_again_and_says_so(
    web: httpx.AsyncClient, sandbox_app: FastAPI, session: AsyncSession
) -> None:
    admin = await register(web)
    await sign_in(web, admin)
    task_id = await dead_task(sandbox_app.state.database, "INV-1")
    page = await web.get("/admin/tasks")
    done = await web.post(
        f"/admin/tasks/{task_id}/retry",
        data={"csrf_token": csrf_of(page.text), "state": "dead"},
        follow_redirects=True,
    )
    assert done.status_code == 200
    assert "queued again" in done.text
    assert "No dead tasks" in done.text
    assert await _state(sandbox_app, task_id) is TaskState.pending
    waiting = await web.get("/admin/tasks", params={"state": "pending"})
    assert str(task_id) in waiting.text
    assert f"/admin/tasks/{task_id}/retry" not in waiting.text  # nothing to retry while queued
    actions = (await session.execute(select(AuditRecord.action))).scalars().all()
    assert "task.retried" in actions


async def test_discard_from_the_page_moves_the_task_to_discarded(
    web: httpx.AsyncClient, sandbox_app: FastAPI
) -> None:
    admin = await register(web)
    await sign_in(web, admin)
    task_id = await dead_task(sandbox_app.state.database, "INV-2")
    page = await web.get("/admin/tasks")
    done = await web.post(
        f"/admin/tasks/{task_id}/discard",
        data={"csrf_token": csrf_of(page.text), "state": "dead"},
        follow_redirects=True,
    )
    assert "was discarded" in done.text
    assert await _state(sandbox_app, task_id) is TaskState.discarded
    discarded = await web.get("/admin/tasks", params={"state": "discarded"})
    assert f'action="/admin/tasks/{task_id}/retry"' in discarded.text
    assert f'action="/admin/tasks/{task_id}/discard"' not in discarded.text


async def test_acting_on_a_task_that_is_no_longer_dead_shows_why_as_a_409_page(
    web: httpx.AsyncClient, sandbox_app: FastAPI
) -> None:
    admin = await register(web)
    await sign_in(web, admin)
    task_id = await dead_task(sandbox_app.state.database, "INV-3")
    csrf = csrf_of((await web.get("/admin/tasks")).text)
    await web.post(f"/admin/tasks/{task_id}/retry", data={"csrf_token": csrf})
    again = await web.post(f"/admin/tasks/{task_id}/discard", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert "Nothing was changed." in again.text
    assert "is pending; only dead tasks can be discarded" in again.text
    missing = await web.post(f"/admin/tasks/{uuid.uuid4()}/retry", data={"csrf_token": csrf})
    assert missing.status_code == 404
    assert "No task has the id" in missing.text
    malformed = await web.post("/admin/tasks/not-an-id/retry", data={"csrf_token": csrf})
    assert malformed.status_code == 404
    assert malformed.headers["content-type"].startswith("text/html")


async def test_members_get_a_403_page_and_no_link_and_forms_need_the_csrf_token(
    web: httpx.AsyncClient, sandbox_app: FastAPI
) -> None:
    await register(web)  # the first account is the admin
    member = await register(web)
    await sign_in(web, member)
    task_id = await dead_task(sandbox_app.state.database, "INV-4")
    assert 'href="/admin/tasks"' not in (await web.get("/settings")).text
    refused = await web.get("/admin/tasks")
    assert refused.status_code == 403
    assert "manage background tasks" in refused.text
    csrf = csrf_of((await web.get("/settings/profile")).text)
    posted = await web.post(f"/admin/tasks/{task_id}/retry", data={"csrf_token": csrf})
    assert posted.status_code == 403
    forged = await web.post(f"/admin/tasks/{task_id}/retry", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert "This form has expired" in forged.text
    assert await _state(sandbox_app, task_id) is TaskState.dead


async def test_an_unknown_state_is_a_422_page_and_signed_out_browsers_sign_in(
    web: httpx.AsyncClient,
) -> None:
    signed_out = await web.get("/admin/tasks")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=%2Fadmin%2Ftasks")
    admin = await register(web)
    await sign_in(web, admin)
    unknown = await web.get("/admin/tasks", params={"state": "zombie"})
    assert unknown.status_code == 422
    assert "No such task state" in unknown.text
