"""`gigforge jobs messages`, `reply` and `send`: the conversation from the terminal."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from factories import cli_environment, cli_user_ada
from gigforge.accounts.models import User
from gigforge.cli import app
from gigforge.jobs.service import WonWork
from gigforge.jobs.service import jobs as job_service
from gigforge.kit.db import Database, unit_of_work

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data_dir = cli_environment(monkeypatch, tmp_path)
    cli_user_ada()
    return data_dir


def _job(data_dir: Path) -> str:
    """A job from an alert email, made the way the alert reader makes one."""

    async def make() -> str:
        database = Database.from_url(f"sqlite+aiosqlite:///{(data_dir / 'gigforge.db').resolve()}")
        try:
            async with unit_of_work(database) as session:
                user_id = await session.scalar(
                    select(User.id).where(User.email == "ada@example.com")
                )
                assert isinstance(user_id, uuid.UUID)
                job = await job_service.create(
                    session,
                    user_id,
                    WonWork(platform="upwork", source="alert", title="Blog posts"),
                )
                return str(job.id)
        finally:
            await database.dispose()

    return asyncio.run(make())


def test_reply_drafts_send_approves_and_messages_lists_them(cli_env: Path) -> None:
    job_id = _job(cli_env)
    drafted = runner.invoke(app, ["jobs", "reply", job_id, "--text", "Happy to start today."])
    assert drafted.exit_code == 0, drafted.output
    assert "kept" in drafted.output

    listed = runner.invoke(app, ["jobs", "messages", job_id, "--json"])
    assert listed.exit_code == 0, listed.output
    [message] = json.loads(listed.output)
    assert (message["direction"], message["status"]) == ("out", "draft")
    assert message["text"] == "Happy to start today."

    sent = runner.invoke(app, ["jobs", "send", job_id, message["id"]])
    assert sent.exit_code == 0, sent.output
    assert "approved, queued to send" in sent.output
    twice = runner.invoke(app, ["jobs", "send", job_id, message["id"]])
    assert twice.exit_code == 1
    assert "This message is approved: only a draft" in twice.output

    empty = runner.invoke(app, ["jobs", "reply", job_id, "--text", "  "])
    assert empty.exit_code == 1
    assert "a reply is 1 to 5,000 characters" in empty.output


def test_jobs_list_show_accept_and_the_refusals_are_one_line(cli_env: Path) -> None:
    job_id = _job(cli_env)
    listed = runner.invoke(app, ["jobs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [job] = json.loads(listed.output)
    assert (job["id"], job["status"]) == (job_id, "pending")

    refused = runner.invoke(app, ["jobs", "approve", job_id])
    assert refused.exit_code == 1
    assert "A pending job has no work to approve" in refused.output

    accepted = runner.invoke(app, ["jobs", "accept", job_id])
    assert accepted.exit_code == 0, accepted.output
    assert "Blog posts: active" in accepted.output
    shown = runner.invoke(app, ["jobs", "show", job_id, "--json"])
    [record] = json.loads(shown.output)
    assert record["status"] == "active"
    [task] = record["tasks"]
    assert (task["agent"], task["status"]) == ("writing", "queued")  # for the server's workers

    bad = runner.invoke(app, ["jobs", "show", "not-a-job"])
    assert bad.exit_code == 1
    assert "not a job id" in bad.output
    agents = runner.invoke(app, ["agents", "list", "--json"])
    assert {a["agent_id"] for a in json.loads(agents.output)} >= {"writing", "code", "data"}
