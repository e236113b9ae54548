"""`gigforge tasks`: background tasks for whoever runs the server.

Retries and discards made here are audited as the system (the operator at the console), like
`gigforge user create`; a retried task is picked up by the next sweep of any running worker.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.admin.schemas import TaskRead
from gigforge.admin.service import admin_tasks as admin_task_service
from gigforge.cli_support import fail, migrate
from gigforge.kit.actor import SYSTEM
from gigforge.kit.console import Record, print_listing
from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import MAX_PAGE_SIZE, PageParams
from gigforge.kit.tasks import TaskState
from gigforge.settings import ConfigurationError, load_settings

T = TypeVar("T")

tasks_app = typer.Typer(
    help="Background tasks: list them, retry or discard dead ones.", no_args_is_help=True
)
console = Console(soft_wrap=True)

STATE_CHOICES = ", ".join([*(state.value for state in TaskState), "all"])


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """`work(session)` in one unit of work on the migrated database the settings name."""
    from gigforge.kit.db import Database, unit_of_work

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), code=2) from None

    async def main() -> T:
        database = Database.from_url(settings.effective_database_url)
        try:
            await migrate(database)
            async with unit_of_work(database) as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None


def _task_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise fail(f"not a task id: {raw!r} (see `gigforge tasks list`)") from None


def _row(record: Record) -> list[str]:
    return [
        record["id"],
        record["name"],
        record["state"],
        f"{record['attempts']}/{record['max_attempts']}",
        record["last_error"] or "",
        record["finished_at"] or "",
    ]


@tasks_app.command("list")
def list_tasks(
    state: Annotated[
        str, typer.Option(help=f"Tasks in this state: {STATE_CHOICES}")
    ] = TaskState.dead.value,
    limit: Annotated[
        int, typer.Option(min=1, max=MAX_PAGE_SIZE, help="At most this many, newest first")
    ] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of tasks")] = False,
) -> None:
    """List background tasks, newest first (dead ones unless --state says otherwise)."""
    chosen: TaskState | None = None
    if state != "all":
        try:
            chosen = TaskState(state)
        except ValueError:
            raise fail(f"--state takes one of {STATE_CHOICES}, not {state!r}", code=2) from None

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        tasks, _ = await admin_task_service.list(
            session, SYSTEM, state=chosen, page=PageParams(limit=limit, offset=0)
        )
        return [TaskRead.model_validate(task).model_dump(mode="json") for task in tasks]

    records = _run(work)
    if not records and not as_json:
        console.print(f"no {'' if chosen is None else chosen.value + ' '}tasks", highlight=False)
        return
    print_listing(
        console,
        headers=["ID", "Name", "State", "Attempts", "Last error", "Finished"],
        records=records,
        row=_row,
        as_json=as_json,
    )


@tasks_app.command("retry")
def retry_task(task_id: Annotated[str, typer.Argument(help="The task's id")]) -> None:
    """Run a dead or discarded task again with fresh attempts (audited)."""
    parsed = _task_id(task_id)

    async def work(session: AsyncSession) -> str:
        task = await admin_task_service.retry(session, SYSTEM, task_id=parsed)
        return f"queued {task.name} ({task.id}) again; a running worker picks it up"

    console.print(_run(work), highlight=False)


@tasks_app.command("discard")
def discard_task(task_id: Annotated[str, typer.Argument(help="The task's id")]) -> None:
    """Set a dead task aside without running it (audited)."""
    parsed = _task_id(task_id)

    async def work(session: AsyncSession) -> str:
        task = await admin_task_service.discard(session, SYSTEM, task_id=parsed)
        return f"discarded {task.name} ({task.id})"

    console.print(_run(work), highlight=False)
