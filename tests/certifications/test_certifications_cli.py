"""`gigforge certifications`: status, course, read, exam and results on the local database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from factories import cli_environment, cli_user_ada
from gigforge.certifications import catalog
from gigforge.certifications import cli as certifications_cli
from gigforge.certifications.schemas import ExamAttemptRead
from gigforge.certifications.service import CertificationService
from gigforge.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data_dir = cli_environment(monkeypatch, tmp_path)
    cli_user_ada()
    return data_dir


def test_course_and_read_print_the_shipped_content(cli_env: Path) -> None:
    listed = runner.invoke(app, ["certifications", "course", "2", "--json"])
    assert listed.exit_code == 0, listed.output
    modules = json.loads(listed.output)
    assert [m["module_id"] for m in modules] == ["2.1", "2.2", "2.3", "2.4"]
    read = runner.invoke(app, ["certifications", "read", "2", "2.3"])
    assert read.exit_code == 0
    assert read.output.startswith("# Catching hallucinations")
    missing = runner.invoke(app, ["certifications", "read", "2", "2.9"])
    assert missing.exit_code == 1
    assert "Level 2 has no module 2.9." in missing.output


def test_take_the_exam_in_the_terminal_then_status_and_results(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = runner.invoke(app, ["certifications", "status"])
    assert status.exit_code == 0, status.output
    assert "Certification level: 0" in status.output

    refused = runner.invoke(app, ["certifications", "exam", "2"])
    assert refused.exit_code == 1
    assert "Level 2 needs level 1 held and not expired first." in refused.output

    started: list[ExamAttemptRead] = []
    original = CertificationService.start

    async def recording_start(self: CertificationService, *args: Any, **kwargs: Any) -> Any:
        attempt = await original(self, *args, **kwargs)
        started.append(attempt)
        return attempt

    def answer(prompt: str, **_: Any) -> str:
        """The right option of the question being asked, from the bank."""
        attempt = started[-1]
        question = attempt.questions[len(asked)]
        asked.append(question.question_id)
        course = catalog.course(1)
        assert course is not None
        banked = course.question(question.question_id)
        assert banked is not None
        return next(o.option_id for o in question.options if o.text == banked.options[0])

    asked: list[str] = []
    monkeypatch.setattr(CertificationService, "start", recording_start)
    monkeypatch.setattr(certifications_cli.typer, "prompt", answer)
    taken = runner.invoke(app, ["certifications", "exam", "1"])
    assert taken.exit_code == 0, taken.output
    assert "Passed: 10 of 10 right (100%" in taken.output
    assert "Level 1 held until" in taken.output
    assert len(asked) == 10

    status = runner.invoke(app, ["certifications", "status", "--json"])
    levels = json.loads(status.output)
    assert [item["status"] for item in levels] == ["active", "not_earned", "not_earned"]
    results = runner.invoke(app, ["certifications", "results", "1"])
    assert "passed" in results.output
    assert "10/10 (100%)" in results.output
