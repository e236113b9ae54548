"""`gigforge jobs` and `gigforge agents`: won work from the terminal. Commands act as the
account `--user` names (or the server's only account); background work (agent runs, award
acceptance, delivery, sending an approved reply) is queued here and done by the server's
workers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.cli_support import fail, run_as
from gigforge.jobs.assignment import agents as agent_service
from gigforge.jobs.messages import message_read
from gigforge.jobs.messages import messages as message_service
from gigforge.jobs.models import Job
from gigforge.jobs.presenting import job_read
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.console import Record, print_listing
from gigforge.kit.pagination import PageParams

jobs_app = typer.Typer(
    help="Won work: jobs, their agent tasks, review and delivery.", no_args_is_help=True
)
agents_app = typer.Typer(help="The AI agents that do jobs' tasks.", no_args_is_help=True)
console = Console(soft_wrap=True)
MAX_MESSAGE = 5_000

UserOption = Annotated[str | None, typer.Option("--user", help="The account's email")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
JobArgument = Annotated[str, typer.Argument(help="The job's id (see `gigforge jobs list`)")]


def _id(raw: str, what: str = "job") -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise fail(f"not a {what} id: {raw!r} (see `gigforge jobs list`)") from None


def _summary(job: Job, tasks: Sequence[Any]) -> Record:
    return job_read(job, tasks).model_dump(mode="json")


@jobs_app.command("list")
def list_jobs(
    status: Annotated[
        list[JobStatus] | None, typer.Option("--status", help="Only jobs in this state")
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Your jobs, newest first."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        rows, _ = await job_service.list(
            session, principal, statuses=status or (), page=PageParams(limit=100)
        )
        return [_summary(job, await job_service.tasks(session, job)) for job in rows]

    records = run_as(user, work)
    print_listing(
        console,
        headers=["id", "status", "progress", "platform", "title"],
        records=records,
        row=lambda r: [r["id"], r["status"], f"{r['progress']:.0%}", r["platform"], r["title"]],
        as_json=as_json,
    )


@jobs_app.command("show")
def show(job_id: JobArgument, user: UserOption = None, as_json: JsonOption = False) -> None:
    """One job: its tasks with their scores, their files by version, its revisions."""

    async def work(session: AsyncSession, principal: Principal) -> Record:
        job = await job_service.get(session, principal, job_id=_id(job_id))
        tasks = await job_service.tasks(session, job)
        files = await job_service.deliverables(session, job)
        revisions = await job_service.revisions(session, job)
        return {
            **_summary(job, tasks),
            "tasks": [
                {
                    "id": str(t.id),
                    "agent": t.agent,
                    "status": t.status.value,
                    "version": t.version,
                    "quality_score": t.quality_score,
                    "judge_reasons": t.judge_reasons,
                }
                for t in tasks
            ],
            "deliverables": [
                {"task": str(d.task_id), "version": d.version, "name": d.name, "size": d.size}
                for d in files
            ],
            "revisions": [{"number": r.number, "feedback": r.feedback} for r in revisions],
        }

    record = run_as(user, work)
    if as_json:
        print_listing(console, headers=[], records=[record], row=lambda r: [], as_json=True)
        return
    console.print(
        f"{record['title']}  [{record['status']}, {record['progress']:.0%}]", highlight=False
    )
    console.print(
        f"{record['platform']} · revision {record['revision']} · id {record['id']}", highlight=False
    )
    if record["note"]:
        console.print(f"Note: {record['note']}", highlight=False)
    for task in record["tasks"]:
        score = "-" if task["quality_score"] is None else f"{task['quality_score']:.2f}/5"
        console.print(
            f"  task {task['id']}: {task['agent']} v{task['version']} {task['status']}"
            f" score {score}",
            highlight=False,
        )
        if task["judge_reasons"]:
            console.print(f"    judges: {task['judge_reasons']}", highlight=False)
    for item in record["deliverables"]:
        console.print(
            f"  file v{item['version']}: {item['name']} ({item['size']} bytes)", highlight=False
        )
    for revision in record["revisions"][1:]:
        console.print(f"  revision {revision['number']}: {revision['feedback']}", highlight=False)


def _act(job_id: str, user: str | None, action: str, **options: Any) -> None:
    async def work(session: AsyncSession, principal: Principal) -> Record:
        method = getattr(job_service, action)
        job = await method(session, principal, job_id=_id(job_id), **options)
        return _summary(job, await job_service.tasks(session, job))

    record = run_as(user, work)
    console.print(f"{record['title']}: {record['status']}", highlight=False)


@jobs_app.command("accept")
def accept(
    job_id: JobArgument,
    autonomous: Annotated[
        bool, typer.Option("--autonomous", help="Deliver without asking (certification level 2)")
    ] = False,
    user: UserOption = None,
) -> None:
    """Confirm won work: the award is accepted (Freelancer.com: through its API); agents start."""
    _act(job_id, user, "accept", autonomous=autonomous)


@jobs_app.command("approve")
def approve(job_id: JobArgument, user: UserOption = None) -> None:
    """Approve the work in review."""
    _act(job_id, user, "approve")


@jobs_app.command("revise")
def revise(
    job_id: JobArgument,
    feedback: Annotated[str, typer.Option("--feedback", help="What should change")],
    user: UserOption = None,
) -> None:
    """Send the work back to its agents with feedback."""
    if not feedback.strip():
        raise fail("--feedback must say what should change")
    _act(job_id, user, "request_revision", feedback=feedback.strip())


@jobs_app.command("deliver")
def deliver(job_id: JobArgument, user: UserOption = None) -> None:
    """Deliver the approved work (a platform message, or a hand-off package)."""
    _act(job_id, user, "deliver")


@jobs_app.command("complete")
def complete(job_id: JobArgument, user: UserOption = None) -> None:
    """The client accepted the delivered work."""
    _act(job_id, user, "complete")


@jobs_app.command("cancel")
def cancel(job_id: JobArgument, user: UserOption = None) -> None:
    _act(job_id, user, "cancel")


@jobs_app.command("won")
def won(
    proposal_id: Annotated[str, typer.Argument(help="The proposal the client chose")],
    user: UserOption = None,
) -> None:
    """Mark a sent proposal won (where Gigforge cannot read awards): it becomes a job."""

    async def work(session: AsyncSession, principal: Principal) -> Record:
        job = await job_service.won_from_proposal(
            session,
            principal.user_id,
            proposal_id=_id(proposal_id, "proposal"),
            source="marked_won",
        )
        return _summary(job, [])

    record = run_as(user, work)
    console.print(f"Job {record['id']}: {record['title']} ({record['status']})", highlight=False)


@jobs_app.command("messages")
def list_messages(
    job_id: JobArgument, user: UserOption = None, as_json: JsonOption = False
) -> None:
    """The conversation with the job's client, oldest first (read by the server's workers)."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        job = await job_service.get(session, principal, job_id=_id(job_id))
        rows = await message_service.of_job(session, job)
        return [message_read(row).model_dump(mode="json") for row in rows]

    records = run_as(user, work)
    print_listing(
        console,
        headers=["id", "from", "status", "text"],
        records=records,
        row=lambda r: [
            r["id"],
            "client" if r["direction"] == "in" else "you",
            r["status"],
            r["text"] if not r["error"] else f"{r['text']}\n({r['error']})",
        ],
        as_json=as_json,
    )


@jobs_app.command("reply")
def reply(
    job_id: JobArgument,
    text: Annotated[str, typer.Option("--text", help="The reply; sent only once approved")],
    user: UserOption = None,
) -> None:
    """Draft a reply to the job's client; `gigforge jobs send` approves and sends it."""
    if not text.strip() or len(text.strip()) > MAX_MESSAGE:
        raise fail(f"a reply is 1 to {MAX_MESSAGE:,} characters")

    async def work(session: AsyncSession, principal: Principal) -> Record:
        row = await message_service.draft(session, principal, job_id=_id(job_id), text=text)
        return message_read(row).model_dump(mode="json")

    record = run_as(user, work)
    console.print(
        f"Draft {record['id']} kept; send it with `gigforge jobs send {job_id} {record['id']}`.",
        highlight=False,
    )


@jobs_app.command("send")
def send(
    job_id: JobArgument,
    message_id: Annotated[str, typer.Argument(help="The draft id (`gigforge jobs messages`)")],
    user: UserOption = None,
) -> None:
    """Approve a drafted reply: the server's workers send it, once."""

    async def work(session: AsyncSession, principal: Principal) -> Record:
        row = await message_service.approve(
            session, principal, job_id=_id(job_id), message_id=_id(message_id, "message")
        )
        return message_read(row).model_dump(mode="json")

    record = run_as(user, work)
    console.print(f"Message {record['id']}: {record['status']}, queued to send.", highlight=False)


@agents_app.command("list")
def list_agents(user: UserOption = None, as_json: JsonOption = False) -> None:
    """The agents, what they do, and their average judge score for you."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        scores = await agent_service.scores(session, principal)
        return [
            {
                "agent_id": spec.slug,
                "name": spec.name,
                "capabilities": list(spec.capabilities),
                "average_quality_score": scores.get(spec.slug),
                "max_concurrency": spec.max_concurrency,
            }
            for spec in agent_service.agents()
        ]

    records = run_as(user, work)
    print_listing(
        console,
        headers=["agent", "name", "capabilities", "score"],
        records=records,
        row=lambda r: [
            r["agent_id"],
            r["name"],
            ", ".join(r["capabilities"]),
            "-" if r["average_quality_score"] is None else f"{r['average_quality_score']:.2f}",
        ],
        as_json=as_json,
    )
