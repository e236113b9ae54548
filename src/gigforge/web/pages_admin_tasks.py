"""/admin/tasks: background work for admins, with the dead tasks' last errors, retry and discard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from fastapi import APIRouter, status
from starlette.responses import Response

from gigforge.admin.service import admin_tasks as admin_task_service
from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import MAX_OFFSET, PageParams
from gigforge.kit.tasks import TaskRow, TaskState
from gigforge.web.pages_settings_base import PostingPage, ReadingPage, SettingsPage
from gigforge.web.rendering import DashboardRoute, error_page

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 25
MAX_ARG_CHARS = 200
STATE_LABELS = {
    TaskState.dead: "Dead",
    TaskState.discarded: "Discarded",
    TaskState.pending: "Waiting",
    TaskState.running: "Running",
    TaskState.done: "Done",
}
DONE_MESSAGES = {
    "retried": "The task is queued again with fresh attempts; a worker picks it up shortly.",
    "discarded": "The task was discarded. It stays listed under Discarded, where it can still "
    "be retried.",
}


@dataclass(frozen=True)
class TaskEntry:
    task: TaskRow
    arguments: list[tuple[str, str]]
    can_retry: bool
    can_discard: bool


def _argument(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_ARG_CHARS else text[: MAX_ARG_CHARS - 1] + "\u2026"


def _entry(task: TaskRow) -> TaskEntry:
    return TaskEntry(
        task=task,
        arguments=[(name, _argument(value)) for name, value in sorted(task.args.items())],
        can_retry=task.state in (TaskState.dead, TaskState.discarded),
        can_discard=task.state is TaskState.dead,
    )


def _offset(raw: str) -> int:
    try:
        offset = int(raw)
    except ValueError:
        return 0
    return min(max(offset, 0), MAX_OFFSET) // PAGE_SIZE * PAGE_SIZE


def _state(raw: str) -> TaskState | None:
    try:
        return TaskState(raw)
    except ValueError:
        return None


async def _tasks_page(
    page: SettingsPage,
    *,
    state: TaskState,
    offset: int = 0,
    done: str | None = None,
    problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    params = PageParams(limit=PAGE_SIZE, offset=offset)
    tasks, total = await admin_task_service.list(
        page.session, page.viewer.principal.actor, state=state, page=params
    )
    return await page.render(
        "admin_tasks.html",
        {
            "entries": [_entry(task) for task in tasks],
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "state": state,
            "states": STATE_LABELS,
            "done": DONE_MESSAGES.get(done or ""),
            "problem": problem,
        },
        status_code=status_code,
    )


def _unknown_state(page: SettingsPage) -> Response:
    return error_page(
        page.request,
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        "No such task state",
        "Tasks are dead, discarded, waiting, running or done.",
    )


@router.get("/admin/tasks")
async def tasks_page(
    page: ReadingPage, state: str = "dead", offset: str = "0", done: str = ""
) -> Response:
    if not page.viewer.principal.is_admin:
        return page.forbidden("manage background tasks")
    chosen = _state(state)
    if chosen is None:
        return _unknown_state(page)
    return await _tasks_page(page, state=chosen, offset=_offset(offset), done=done)


async def _act(page: SettingsPage, task_id: str, verb: str) -> Response:
    if not page.viewer.principal.is_admin:
        return page.forbidden("manage background tasks")
    back = _state(str((await page.request.form()).get("state", ""))) or TaskState.dead
    try:
        parsed = uuid.UUID(task_id)
    except ValueError:
        return error_page(
            page.request,
            status.HTTP_404_NOT_FOUND,
            "No such task",
            "The address does not name a task.",
        )
    action = admin_task_service.retry if verb == "retried" else admin_task_service.discard
    try:
        await action(page.session, page.viewer.principal.actor, task_id=parsed)
    except GigforgeError as exc:
        return await _tasks_page(page, state=back, problem=exc.detail, status_code=exc.status_code)
    return page.redirect(f"/admin/tasks?state={back.value}&done={verb}")


@router.post("/admin/tasks/{task_id}/retry")
async def retry_task(task_id: str, page: PostingPage) -> Response:
    return await _act(page, task_id, "retried")


@router.post("/admin/tasks/{task_id}/discard")
async def discard_task(task_id: str, page: PostingPage) -> Response:
    return await _act(page, task_id, "discarded")
