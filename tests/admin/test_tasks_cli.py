"""`gigforge tasks list | retry | discard` on the server's own database."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gigforge.audit.models import AuditRecord
from gigforge.cli import app
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.task_engine import TaskEngine
from gigforge.kit.tasks import TaskContext, TaskRow, TaskState, enqueue, registry
from gigforge.migrations import upgrade
from gigforge.settings import load_settings

runner = CliRunner()


@registry.task("clitests.fails", max_attempts=2, backoff=timedelta(0))
async def _fails(context: TaskContext, *, post_id: str) -> None:
    raise ConnectionError(f"social network unreachable for post {post_id}")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("GIGFORGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("GIGFORGE_SECRET_KEY", raising=False)
    return tmp_path / "data"


def _dead_task(post_id: str) -> uuid.UUID:
    """Enqueued and run until it is out of attempts, on the database the CLI uses."""

    async def main() -> uuid.UUID:
        database = Database.from_url(load_settings().effective_database_url)
        try:
            await upgrade(database.engine)
            async with unit_of_work(database) as session:
                task_id = await enqueue(session, "clitests.fails", post_id=post_id)
            assert task_id is not None
            engine = TaskEngine(database, registry)
            assert await engine.run(task_id) is TaskState.pending
            assert await engine.run(task_id) is TaskState.dead
            return task_id
        finally:
            await database.dispose()

    return asyncio.run(main())


def _row(task_id: uuid.UUID) -> tuple[TaskRow, list[str]]:
    async def main() -> tuple[TaskRow, list[str]]:
        database = Database.from_url(load_settings().effective_database_url)
        try:
            async with unit_of_work(database) as session:
                row = await session.get(TaskRow, task_id)
                assert row is not None
                actions = (await session.execute(select(AuditRecord.action))).scalars().all()
                return row, list(actions)
        finally:
            await database.dispose()

    return asyncio.run(main())


def test_tasks_list_shows_dead_tasks_with_their_last_error_off_a_terminal(cli_env: Path) -> None:
    task_id = _dead_task("p-1")
    result = runner.invoke(app, ["tasks", "list"])
    assert result.exit_code == 0, result.output
    header, line = result.output.strip().splitlines()
    assert header.split("\t") == ["ID", "Name", "State", "Attempts", "Last error", "Finished"]
    cells = line.split("\t")
    assert cells[:4] == [str(task_id), "clitests.fails", "dead", "2/2"]
    assert cells[4] == "ConnectionError: social network unreachable for post p-1"
    assert runner.invoke(app, ["tasks", "list", "--state", "done"]).output == "no done tasks\n"


def test_tasks_list_json_is_an_array_of_task_records(cli_env: Path) -> None:
    task_id = _dead_task("p-2")
    result = runner.invoke(app, ["tasks", "list", "--state", "all", "--json"])
    assert result.exit_code == 0, result.output
    [record] = json.loads(result.output)
    assert record["id"] == str(task_id)
    assert record["args"] == {"post_id": "p-2"}
    assert (record["state"], record["attempts"], record["max_attempts"]) == ("dead", 2, 2)
    assert set(record) == {
        "id", "name", "args", "state", "attempts", "max_attempts",
        "last_error", "due_at", "created_at", "finished_at",
    }  # fmt: skip


def test_tasks_retry_requeues_for_the_next_sweep_and_is_audited(cli_env: Path) -> None:
    task_id = _dead_task("p-3")
    result = runner.invoke(app, ["tasks", "retry", str(task_id)])
    assert result.exit_code == 0, result.output
    assert f"queued clitests.fails ({task_id}) again" in result.output
    row, actions = _row(task_id)
    assert (row.state, row.attempts) == (TaskState.pending, 0)
    assert row.dispatched_at is None  # no dispatcher here: left for a worker's sweep
    assert "task.retried" in actions
    again = runner.invoke(app, ["tasks", "retry", str(task_id)])
    assert again.exit_code == 1
    assert "is pending; only dead or discarded tasks can be retried" in again.output


def test_tasks_discard_sets_a_dead_task_aside_and_bad_ids_fail_in_one_line(
    cli_env: Path,
) -> None:
    task_id = _dead_task("p-4")
    result = runner.invoke(app, ["tasks", "discard", str(task_id)])
    assert result.exit_code == 0, result.output
    row, actions = _row(task_id)
    assert row.state is TaskState.discarded
    assert "task.discarded" in actions
    missing = runner.invoke(app, ["tasks", "discard", str(uuid.uuid4())])
    assert missing.exit_code == 1
    assert "No task has the id" in missing.output
    malformed = runner.invoke(app, ["tasks", "retry", "nope"])
    assert malformed.exit_code == 1
    assert "not a task id" in malformed.output
    bad_state = runner.invoke(app, ["tasks", "list", "--state", "zombie"])
    assert bad_state.exit_code == 2
    assert "--state takes one of" in bad_state.output
