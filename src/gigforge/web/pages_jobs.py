"""The jobs board and the job page: won work followed through its agents, the quality gate,
the user's review and the delivery.

The pages call the same `JobService` and `AgentService` as the API, so every button is
guarded, audited and published exactly as its API twin, and a refused action (a 409 from the
state machine, a missing certification) is explained on the job page, never as JSON. While
agents work or a delivery is on its way, the page polls a small partial of its tasks (htmx,
no inline script); once the job's stage changes the partial asks for a full reload, so the
buttons always match the state.

The client messages section is the conversation the jobs domain read from the platform (see
`jobs.messages`): a reply is drafted here and leaves only once the user approves it; where the
platform's API sends nothing, the approved reply is handed to the user to paste.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, status
from starlette.responses import Response

from gigforge.accounts.principal import Principal
from gigforge.connections.context import IntegrationContext
from gigforge.jobs.assignment import agents as agent_service
from gigforge.jobs.messages import messages as message_service
from gigforge.jobs.models import Job
from gigforge.jobs.presenting import deliverable_read, job_detail, job_read
from gigforge.jobs.schemas import DeliverableRead, JobDetail, JobRead
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import RETRYABLE, WORKING, JobStatus, TaskStatus, allowed
from gigforge.kit.errors import GigforgeError, NotFound, ValidationFailed
from gigforge.kit.pagination import PageParams, clamp_offset
from gigforge.storage import Storage
from gigforge.web.pages_proposals import Page as JobsPage
from gigforge.web.pages_proposals import PostingPage, ReadingPage
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50
POLL_SECONDS = 3
MAX_FEEDBACK = 5_000
JOB_LABELS = {
    JobStatus.pending: "Waiting for you to accept",
    JobStatus.active: "Started",
    JobStatus.in_progress: "Agents at work",
    JobStatus.review: "Ready for your review",
    JobStatus.delivered: "Delivered",
    JobStatus.completed: "Completed",
    JobStatus.cancelled: "Cancelled",
}
TASK_LABELS = {
    TaskStatus.queued: "Queued",
    TaskStatus.running: "Running",
    TaskStatus.done: "Passed the quality gate",
    TaskStatus.below_threshold: "Below your threshold",
    TaskStatus.failed: "Failed",
    TaskStatus.cancelled: "Cancelled",
}
# The board's tabs: (query value, title, states).
GROUPS: tuple[tuple[str, str, tuple[JobStatus, ...]], ...] = (
    ("pending", "Pending", (JobStatus.pending,)),
    ("working", "In progress", (JobStatus.active, JobStatus.in_progress)),
    ("review", "In review", (JobStatus.review,)),
    ("delivered", "Delivered", (JobStatus.delivered,)),
    ("completed", "Completed", (JobStatus.completed,)),
    ("cancelled", "Cancelled", (JobStatus.cancelled,)),
)
IN_FLIGHT_TASKS = frozenset({TaskStatus.queued, TaskStatus.running})
IN_FLIGHT_DELIVERIES = frozenset({"queued", "sending"})
MAX_MESSAGE = 5_000
MESSAGE_LABELS = {
    "received": "From the client",
    "draft": "Draft",
    "approved": "Approved, queued to send",
    "sending": "Sending",
    "sent": "Sent",
    "failed": "Not sent",
}
MESSAGE_BADGES = {
    "received": "active",
    "draft": "draft",
    "approved": "approved",
    "sending": "approved",
    "sent": "submitted",
    "failed": "failed",
}


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    count: int


@dataclass(frozen=True)
class Actions:
    """Which buttons the job page offers: only the moves the job's state allows."""

    accept: bool
    approve: bool
    revise: bool
    deliver: bool
    complete: bool
    cancel: bool
    retry: bool


def actions_for(job: JobDetail) -> Actions:
    delivering = any(d.revision == job.revision for d in job.deliveries)
    return Actions(
        accept=job.status is JobStatus.pending and job.accepted_at is None,
        approve=job.status is JobStatus.review and not job.approved,
        revise=job.status in (JobStatus.review, JobStatus.delivered),
        deliver=job.status is JobStatus.review and job.approved and not delivering,
        complete=job.status is JobStatus.delivered,
        cancel=allowed(job.status, JobStatus.cancelled),
        retry=job.status in WORKING,
    )


def stage(job: JobDetail) -> str:
    """What the page's buttons depend on; when it changes the polled partial reloads the page."""
    latest = job.deliveries[-1].status if job.deliveries else "none"
    return f"{job.status.value}.{int(job.approved)}.{job.revision}.{latest}"


def live(job: JobDetail) -> bool:
    """Something is happening in the background the page should follow."""
    return (
        any(task.status in IN_FLIGHT_TASKS for task in job.tasks)
        or any(d.status in IN_FLIGHT_DELIVERIES for d in job.deliveries)
        or (job.status is JobStatus.pending and job.accepted_at is not None)
    )


def _storage(page: JobsPage) -> Storage:
    storage: Storage = page.request.app.state.storage
    return storage


def _context(page: JobsPage) -> IntegrationContext:
    context: IntegrationContext = page.request.app.state.integrations
    return context


def _principal(page: JobsPage) -> Principal:
    return page.viewer.principal


def _missing(page: JobsPage, what: str = "job") -> Response:
    return error_page(
        page.request,
        status.HTTP_404_NOT_FOUND,
        f"No such {what}",
        "It does not exist or belongs to someone else.",
    )


def _forbidden(page: JobsPage) -> Response:
    return error_page(
        page.request,
        status.HTTP_403_FORBIDDEN,
        "Not allowed",
        "Your role can read jobs but not change them.",
    )


async def _owned(page: JobsPage, job_id: uuid.UUID) -> Job | None:
    try:
        return await job_service.get(page.session, _principal(page), job_id=job_id)
    except NotFound:
        return None


@router.get("/jobs")
async def board(page: ReadingPage, state: str = "", offset: int = 0) -> Response:
    """The user's jobs, one state group at a time (all of them unless a tab is chosen)."""
    counts = await job_service.counts(page.session, _principal(page))
    groups = [
        Group(key, title, sum(counts.get(s, 0) for s in states)) for key, title, states in GROUPS
    ]
    chosen = next((states for key, _, states in GROUPS if key == state), ())
    offset = clamp_offset(offset)
    rows, total = await job_service.list(
        page.session,
        _principal(page),
        statuses=chosen,
        page=PageParams(limit=PAGE_SIZE, offset=offset),
    )
    jobs: list[JobRead] = [
        job_read(job, await job_service.tasks(page.session, job)) for job in rows
    ]
    return render(
        page.request,
        "jobs.html",
        {
            "viewer": page.viewer,
            "notices": await needs_attention(page.session, page.viewer, page.settings),
            "groups": groups,
            "state": state if chosen else "",
            "jobs": jobs,
            "total": total,
            "all_jobs": sum(counts.values()),
            "offset": offset,
            "page_size": PAGE_SIZE,
            "job_labels": JOB_LABELS,
        },
    )


async def _versions(
    page: JobsPage, job: Job
) -> dict[uuid.UUID, list[tuple[int, list[DeliverableRead]]]]:
    """Every task's deliverables by version, newest version first."""
    by_task: dict[uuid.UUID, dict[int, list[DeliverableRead]]] = defaultdict(dict)
    storage = _storage(page)
    for row in await job_service.deliverables(page.session, job):
        read = await deliverable_read(storage, row)
        by_task[read.task_id].setdefault(read.version, []).append(read)
    return {
        task_id: sorted(versions.items(), key=lambda item: item[0], reverse=True)
        for task_id, versions in by_task.items()
    }


def _task_context(page: JobsPage, detail: JobDetail) -> dict[str, Any]:
    return {
        "viewer": page.viewer,
        "job": detail,
        "tasks": detail.tasks,
        "task_labels": TASK_LABELS,
        "retryable": RETRYABLE,
        "actions": actions_for(detail),
        "can_write": page.can_write,
        "live": live(detail),
        "stage": stage(detail),
        "poll_seconds": POLL_SECONDS,
    }


async def _job_page(
    page: JobsPage,
    job: Job,
    *,
    problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    detail = await job_detail(page.session, _storage(page), job)
    return render(
        page.request,
        "job.html",
        {
            **_task_context(page, detail),
            "notices": await needs_attention(page.session, page.viewer, page.settings),
            "job_label": JOB_LABELS[detail.status],
            "versions": await _versions(page, job),
            "progress_percent": round(detail.progress * 100),
            "feedback_limit": MAX_FEEDBACK,
            "conversation": await message_service.list(
                page.session, _principal(page), context=_context(page), job_id=job.id
            ),
            "message_labels": MESSAGE_LABELS,
            "message_badges": MESSAGE_BADGES,
            "message_limit": MAX_MESSAGE,
            "problem": problem,
        },
        status_code=status_code,
    )


@router.get("/jobs/{job_id}")
async def job_page(job_id: uuid.UUID, page: ReadingPage) -> Response:
    job = await _owned(page, job_id)
    if job is None:
        return _missing(page)
    return await _job_page(page, job)


@router.get("/jobs/{job_id}/tasks")
async def tasks_part(job_id: uuid.UUID, page: ReadingPage, shown: str = "") -> Response:
    """For the polling page: the tasks section as it is now, or a full reload once the job's
    stage (state, approval, delivery) moved on."""
    job = await _owned(page, job_id)
    if job is None:
        return _missing(page)
    detail = await job_detail(page.session, _storage(page), job)
    if stage(detail) != shown:
        return Response(status_code=status.HTTP_200_OK, headers={"HX-Refresh": "true"})
    return render(page.request, "_job_tasks.html", _task_context(page, detail))


Act = Callable[[JobsPage, Job], Awaitable[object]]


async def _act(page: JobsPage, job_id: uuid.UUID, act: Act) -> Response:
    """One button: a refused move is explained on the job page with the service's words."""
    if not page.can_write:
        return _forbidden(page)
    job = await _owned(page, job_id)
    if job is None:
        return _missing(page)
    try:
        await act(page, job)
    except GigforgeError as exc:
        return await _job_page(page, job, problem=exc.detail, status_code=exc.status_code)
    return redirect(page.request, f"/jobs/{job.id}")


def _threshold(text: str) -> float | None:
    """The least judge score typed on the accept form; empty keeps the job's default."""
    if not text.strip():
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = -1.0
    if not 0 <= value <= 5:
        raise ValidationFailed("The quality threshold is a score from 0 to 5, such as 4 or 3.5.")
    return value


@router.post("/jobs/{job_id}/accept")
async def accept(
    job_id: uuid.UUID,
    page: PostingPage,
    autonomous: Annotated[str, Form(max_length=10)] = "",
    quality_threshold: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    async def act(page: JobsPage, job: Job) -> None:
        await job_service.accept(
            page.session,
            _principal(page),
            job_id=job.id,
            autonomous=autonomous == "on",
            quality_threshold=_threshold(quality_threshold),
        )

    return await _act(page, job_id, act)


@router.post("/jobs/{job_id}/approve")
async def approve(job_id: uuid.UUID, page: PostingPage) -> Response:
    return await _act(
        page, job_id, lambda p, job: job_service.approve(p.session, _principal(p), job_id=job.id)
    )


@router.post("/jobs/{job_id}/request-revision")
async def request_revision(
    job_id: uuid.UUID,
    page: PostingPage,
    feedback: Annotated[str, Form(max_length=MAX_FEEDBACK * 2)] = "",
) -> Response:
    async def act(page: JobsPage, job: Job) -> None:
        text = feedback.strip()
        if not text:
            raise ValidationFailed("Say what should change: the agents work from your feedback.")
        if len(text) > MAX_FEEDBACK:
            raise ValidationFailed(
                f"The feedback is {len(text):,} characters; keep it to {MAX_FEEDBACK:,} or fewer."
            )
        await job_service.request_revision(
            page.session, _principal(page), job_id=job.id, feedback=text
        )

    return await _act(page, job_id, act)


@router.post("/jobs/{job_id}/deliver")
async def deliver(job_id: uuid.UUID, page: PostingPage) -> Response:
    return await _act(
        page, job_id, lambda p, job: job_service.deliver(p.session, _principal(p), job_id=job.id)
    )


@router.post("/jobs/{job_id}/complete")
async def complete(job_id: uuid.UUID, page: PostingPage) -> Response:
    return await _act(
        page, job_id, lambda p, job: job_service.complete(p.session, _principal(p), job_id=job.id)
    )


@router.post("/jobs/{job_id}/cancel")
async def cancel(job_id: uuid.UUID, page: PostingPage) -> Response:
    return await _act(
        page, job_id, lambda p, job: job_service.cancel(p.session, _principal(p), job_id=job.id)
    )


@router.post("/jobs/{job_id}/tasks/{task_id}/retry")
async def retry(
    job_id: uuid.UUID,
    task_id: uuid.UUID,
    page: PostingPage,
    feedback: Annotated[str, Form(max_length=MAX_FEEDBACK * 2)] = "",
) -> Response:
    """Run a task again as its next version, from the user's words or the judges' reasons."""

    async def act(page: JobsPage, job: Job) -> None:
        task = await agent_service.task(page.session, _principal(page), task_id=task_id)
        if task.job_id != job.id:
            raise NotFound("No such task on this job")
        await agent_service.retry(
            page.session,
            _principal(page),
            task_id=task.id,
            feedback=feedback.strip()[:MAX_FEEDBACK] or None,
        )

    return await _act(page, job_id, act)


@router.post("/jobs/{job_id}/messages")
async def draft_message(
    job_id: uuid.UUID,
    page: PostingPage,
    text: Annotated[str, Form(max_length=MAX_MESSAGE * 2)] = "",
) -> Response:
    """Keep a reply to the client as a draft; it leaves only once approved."""

    async def act(page: JobsPage, job: Job) -> None:
        reply = text.strip()
        if not reply:
            raise ValidationFailed("Write the reply first.")
        if len(reply) > MAX_MESSAGE:
            raise ValidationFailed(
                f"The reply is {len(reply):,} characters; keep it to {MAX_MESSAGE:,} or fewer."
            )
        await message_service.draft(page.session, _principal(page), job_id=job.id, text=reply)

    return await _act(page, job_id, act)


@router.post("/jobs/{job_id}/messages/{message_id}/approve")
async def approve_message(job_id: uuid.UUID, message_id: uuid.UUID, page: PostingPage) -> Response:
    return await _act(
        page,
        job_id,
        lambda p, job: message_service.approve(
            p.session, _principal(p), job_id=job.id, message_id=message_id
        ),
    )


@router.post("/jobs/{job_id}/messages/sync")
async def sync_messages(job_id: uuid.UUID, page: PostingPage) -> Response:
    return await _act(
        page,
        job_id,
        lambda p, job: message_service.request_sync(p.session, _principal(p), job_id=job.id),
    )
