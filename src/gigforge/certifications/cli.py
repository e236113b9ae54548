"""`gigforge certifications`: levels held, courses, module text, results, and the exam itself
in the terminal. Commands act as the account `--user` names (or the server's only account)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markdown import Markdown

from gigforge.certifications.schemas import ExamAttemptRead, ExamResultRead
from gigforge.certifications.service import certifications as certification_service
from gigforge.cli_support import fail, run_as
from gigforge.kit.console import Record, is_terminal, print_listing
from gigforge.kit.errors import GigforgeError

T = TypeVar("T")

certifications_app = typer.Typer(
    help="Certifications: levels held, courses, exams and results.", no_args_is_help=True
)
console = Console(soft_wrap=True)

UserOption = Annotated[str | None, typer.Option("--user", help="The account's email")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


_run = run_as


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


@certifications_app.command("status")
def status(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Each level: held, expired or not earned, with its expiry and what you can do next."""
    mine = _run(user, lambda session, principal: certification_service.mine(session, principal))
    records = [item.model_dump(mode="json") for item in mine.certifications]
    if not as_json:
        console.print(f"Certification level: {mine.certification_level}")

    def row(record: Record) -> list[str]:
        can = [
            label
            for label, allowed in (
                ("exam", record["can_start_exam"]),
                ("renew", record["can_renew"]),
            )
            if allowed
        ]
        return [
            str(record["level"]),
            record["title"],
            record["status"],
            (record["expires_at"] or "")[:10],
            ", ".join(can)
            or (
                f"wait until {record['next_attempt_at'][:16]}" if record["next_attempt_at"] else ""
            ),
        ]

    print_listing(
        console,
        headers=["Level", "Course", "Status", "Expires", "You can"],
        records=records,
        row=row,
        as_json=as_json,
    )


@certifications_app.command("course")
def course(level: int, as_json: JsonOption = False) -> None:
    """A level's modules, with reading time; read one with `gigforge certifications read`."""
    try:
        found = certification_service.course(level)
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    if not as_json:
        console.print(f"Level {found.level}: {found.title}")
    print_listing(
        console,
        headers=["Module", "Title", "Hours"],
        records=[module.model_dump(mode="json") for module in found.modules],
        row=lambda record: [record["module_id"], record["title"], f"{record['duration_hours']:g}"],
        as_json=as_json,
    )


@certifications_app.command("read")
def read(level: int, module_id: Annotated[str, typer.Argument(help="e.g. 1.2")]) -> None:
    """Print one module's text (formatted on a terminal, Markdown otherwise)."""
    try:
        module = certification_service.module(level, module_id)
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    if is_terminal(console):
        console.print(Markdown(module.markdown))
    else:
        console.file.write(module.markdown)
        console.file.flush()


def _print_result(result: ExamResultRead) -> None:
    verdict = {"passed": "Passed", "failed": "Not passed", "expired": "Time ran out"}.get(
        result.status.value, result.status.value
    )
    console.print(
        f"{verdict}: {result.correct} of {result.total} right ({result.score_percent}%, "
        f"pass mark {result.pass_mark_percent}%)."
    )
    if result.certification_expires_at:
        console.print(f"Level {result.level} held until {_day(result.certification_expires_at)}.")
    if result.review_modules:
        console.print("Review modules: " + ", ".join(result.review_modules))
    if result.next_attempt_at:
        console.print(f"Next attempt from {result.next_attempt_at:%Y-%m-%d %H:%M} UTC.")


@certifications_app.command("results")
def results(level: int, user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your finished attempts at a level, newest first."""
    found = _run(
        user,
        lambda session, principal: certification_service.results(session, principal, level=level),
    )
    print_listing(
        console,
        headers=["Submitted", "Kind", "Result", "Score"],
        records=[result.model_dump(mode="json") for result in found.results],
        row=lambda record: [
            (record["submitted_at"] or record["started_at"])[:16],
            record["kind"],
            record["status"],
            f"{record['correct']}/{record['total']} ({record['score_percent']}%)",
        ],
        as_json=as_json,
    )


def _ask(attempt: ExamAttemptRead) -> list[tuple[str, str]]:
    console.print(
        f"Level {attempt.level} {attempt.kind.value}: {len(attempt.questions)} questions, "
        f"{attempt.seconds_left // 60} minutes left, pass mark {attempt.pass_mark_percent}%. "
        "The clock runs on the server."
    )
    answers = []
    for number, question in enumerate(attempt.questions, start=1):
        console.print(f"\n{number}. {question.prompt}", markup=False)
        for option in question.options:
            console.print(f"   {option.option_id}) {option.text}", markup=False)
        ids = [option.option_id for option in question.options]
        choice = typer.prompt(
            f"Answer ({'/'.join(ids)}, empty to skip)", default="", show_default=False
        )
        if choice.strip().lower() in ids:
            answers.append((question.question_id, choice.strip().lower()))
    return answers


@certifications_app.command("exam")
def exam(
    level: int,
    user: UserOption = None,
    renewal: Annotated[bool, typer.Option(help="Take the shorter renewal exam")] = False,
) -> None:
    """Take a level's exam here: questions are asked one by one, graded by the server."""
    opening = certification_service.renew if renewal else certification_service.start
    attempt = _run(user, lambda session, principal: opening(session, principal, level=level))
    answers = _ask(attempt)
    result = _run(
        user,
        lambda session, principal: certification_service.submit(
            session, principal, level=level, attempt_id=attempt.attempt_id, answers=answers
        ),
    )
    _print_result(result)
