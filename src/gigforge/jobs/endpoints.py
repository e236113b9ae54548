"""Routes: /jobs (seed 002's job paths), /agents (its agent paths) and marking a proposal won.

`GET /jobs/opportunities` and the deprecated `POST /jobs/accept` belong to the opportunities
and proposals domains; the app includes this router after theirs, so those fixed paths are
matched before `/jobs/{job_id}`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.ai.deps import RouterDep
from gigforge.certifications.errors import CertificationRequired
from gigforge.connections.endpoints import ContextDep
from gigforge.jobs.assignment import agents as agent_service
from gigforge.jobs.errors import (
    AgentBusy,
    InvalidJobTransition,
    InvalidMessageState,
    InvalidTaskState,
    JobNotFound,
    MessageNotFound,
    NotWon,
    TaskNotFound,
    UnknownAgent,
)
from gigforge.jobs.messages import message_read
from gigforge.jobs.messages import messages as message_service
from gigforge.jobs.presenting import deliverable_read, job_detail, job_read, task_read, task_status
from gigforge.jobs.schemas import (
    AgentList,
    AgentRead,
    DeliverableList,
    JobAccept,
    JobDetail,
    JobList,
    MarkWon,
    MessageCreate,
    MessageList,
    MessageRead,
    RetryRequest,
    RevisionRequest,
    TaskAssign,
    TaskList,
    TaskRead,
    TaskStatusRead,
)
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import NotFound, Unauthorized, ValidationFailed
from gigforge.kit.pagination import PageParamsDep
from gigforge.kit.problems import problem_responses
from gigforge.storage import Storage

router = APIRouter(tags=["jobs"])
agents_router = APIRouter(tags=["agents"])
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
Reader = Annotated[Principal, RequireScope(Scope.jobs_read)]
Writer = Annotated[Principal, RequireScope(Scope.jobs_write)]
_ACTING = (*_AUTHENTICATED, JobNotFound, InvalidJobTransition)


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _detail(
    request: Request, session: SessionDep, job_id: uuid.UUID, principal: Principal
) -> JobDetail:
    job = await job_service.get(session, principal, job_id=job_id)
    return await job_detail(session, _storage(request), job)


@router.get("/jobs", response_model=JobList, responses=problem_responses(*_AUTHENTICATED))
async def list_jobs(
    session: SessionDep,
    principal: Reader,
    page: PageParamsDep,
    status_: Annotated[
        list[JobStatus] | None, Query(alias="status", description="One or more states")
    ] = None,
    platform: Annotated[str | None, Query(max_length=40)] = None,
    since: Annotated[datetime | None, Query(description="Created at or after")] = None,
) -> JobList:
    """The user's jobs, newest first, filtered by state, platform and creation time."""
    rows, total = await job_service.list(
        session, principal, statuses=status_ or (), platform=platform, since=since, page=page
    )
    return JobList(
        jobs=[job_read(job, await job_service.tasks(session, job)) for job in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/jobs/{job_id}",
    response_model=JobDetail,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound),
)
async def get_job(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Reader
) -> JobDetail:
    """One job with its tasks, their scores, its revision history and its deliveries."""
    return await _detail(request, session, job_id, principal)


@router.get(
    "/jobs/{job_id}/tasks",
    response_model=TaskList,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound),
)
async def job_tasks(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Reader
) -> TaskList:
    job = await job_service.get(session, principal, job_id=job_id)
    deliverables = await job_service.deliverables(session, job)
    return TaskList(
        tasks=[
            await task_read(_storage(request), task, deliverables)
            for task in await job_service.tasks(session, job)
        ]
    )


@router.get(
    "/jobs/{job_id}/deliverables",
    response_model=DeliverableList,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound),
)
async def job_deliverables(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Reader
) -> DeliverableList:
    """Every version of every task's files, newest version first, with expiring links."""
    job = await job_service.get(session, principal, job_id=job_id)
    storage = _storage(request)
    return DeliverableList(
        deliverables=[
            await deliverable_read(storage, row)
            for row in await job_service.deliverables(session, job)
        ]
    )


@router.post(
    "/jobs/{job_id}/accept",
    response_model=JobDetail,
    responses=problem_responses(*_ACTING, CertificationRequired),
)
async def accept_job(
    job_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Writer,
    body: JobAccept | None = None,
) -> JobDetail:
    """Confirm won work. A Freelancer.com award is accepted through its API in the background
    (the job starts once it is); elsewhere the agents start now."""
    body = body or JobAccept()
    await job_service.accept(
        session,
        principal,
        job_id=job_id,
        autonomous=body.autonomous,
        quality_threshold=body.quality_threshold,
    )
    return await _detail(request, session, job_id, principal)


@router.post(
    "/jobs/{job_id}/approve", response_model=JobDetail, responses=problem_responses(*_ACTING)
)
async def approve_job(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Writer
) -> JobDetail:
    """Approve the work in review; it may then be delivered."""
    await job_service.approve(session, principal, job_id=job_id)
    return await _detail(request, session, job_id, principal)


@router.post(
    "/jobs/{job_id}/request-revision",
    response_model=JobDetail,
    responses=problem_responses(*_ACTING),
)
async def request_revision(
    job_id: uuid.UUID,
    body: RevisionRequest,
    request: Request,
    session: SessionDep,
    principal: Writer,
) -> JobDetail:
    """Send the work back to its agents with feedback: each task writes its next version."""
    await job_service.request_revision(session, principal, job_id=job_id, feedback=body.feedback)
    return await _detail(request, session, job_id, principal)


@router.post(
    "/jobs/{job_id}/deliver",
    response_model=JobDetail,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_ACTING),
)
async def deliver_job(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Writer
) -> JobDetail:
    """Deliver the approved work, once: a platform message with the files where the platform
    has one, a hand-off (a zip and the message to paste) elsewhere. It is sent in the
    background; the job becomes `delivered` when it is."""
    await job_service.deliver(session, principal, job_id=job_id)
    return await _detail(request, session, job_id, principal)


@router.post(
    "/jobs/{job_id}/complete", response_model=JobDetail, responses=problem_responses(*_ACTING)
)
async def complete_job(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Writer
) -> JobDetail:
    """The client accepted the delivered work."""
    await job_service.complete(session, principal, job_id=job_id)
    return await _detail(request, session, job_id, principal)


@router.post(
    "/jobs/{job_id}/cancel", response_model=JobDetail, responses=problem_responses(*_ACTING)
)
async def cancel_job(
    job_id: uuid.UUID, request: Request, session: SessionDep, principal: Writer
) -> JobDetail:
    await job_service.cancel(session, principal, job_id=job_id)
    return await _detail(request, session, job_id, principal)


@router.post(
    "/proposals/{proposal_id}/won",
    response_model=JobDetail,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, NotWon, NotFound),
    tags=["proposals"],
)
async def mark_won(
    proposal_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Writer,
    body: MarkWon | None = None,
) -> JobDetail:
    """The client chose this proposal on a platform Gigforge cannot read awards from: it
    becomes a job, pending your confirmation (`POST /jobs/{job_id}/accept`)."""
    job = await job_service.won_from_proposal(
        session, principal.user_id, proposal_id=proposal_id, source="marked_won"
    )
    return await _detail(request, session, job.id, principal)


# Client messages


@router.get(
    "/jobs/{job_id}/messages",
    response_model=MessageList,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound),
)
async def list_messages(
    job_id: uuid.UUID, session: SessionDep, context: ContextDep, principal: Reader
) -> MessageList:
    """The conversation with the job's client, oldest first: the client's messages and ours
    with their status. Without a connection whose API reads messages, `note` says where the
    conversation is."""
    return await message_service.list(session, principal, context=context, job_id=job_id)


@router.post(
    "/jobs/{job_id}/messages",
    response_model=MessageRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound),
)
async def draft_message(
    job_id: uuid.UUID, body: MessageCreate, session: SessionDep, principal: Writer
) -> MessageRead:
    """A reply to the client, kept as a draft: nothing is sent before you approve it."""
    row = await message_service.draft(session, principal, job_id=job_id, text=body.text)
    return message_read(row)


@router.post(
    "/jobs/{job_id}/messages/sync",
    response_model=MessageList,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound),
)
async def sync_messages(
    job_id: uuid.UUID, session: SessionDep, context: ContextDep, principal: Writer
) -> MessageList:
    """Read the job's threads on the platform now, in the background; the answer is the
    conversation as kept so far."""
    await message_service.request_sync(session, principal, job_id=job_id)
    return await message_service.list(session, principal, context=context, job_id=job_id)


@router.post(
    "/jobs/{job_id}/messages/{message_id}/approve",
    response_model=MessageRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_AUTHENTICATED, JobNotFound, MessageNotFound, InvalidMessageState),
)
async def approve_message(
    job_id: uuid.UUID, message_id: uuid.UUID, session: SessionDep, principal: Writer
) -> MessageRead:
    """Approve a draft (or a failed message, to try again): it is sent once, in the
    background, where the platform's API sends messages; elsewhere it fails with a note
    saying where to paste it."""
    row = await message_service.approve(session, principal, job_id=job_id, message_id=message_id)
    return message_read(row)


# Agents


@agents_router.get(
    "/agents/available", response_model=AgentList, responses=problem_responses(*_AUTHENTICATED)
)
async def available_agents(
    session: SessionDep, principal: Reader, context: ContextDep, router: RouterDep
) -> AgentList:
    """Every agent, whether it can take a task now, and its average judge score."""
    standings = await agent_service.standings(session, principal, context=context, router=router)
    return AgentList(
        agents=[
            AgentRead(
                agent_id=item.spec.slug,
                name=item.spec.name,
                capabilities=list(item.spec.capabilities),
                average_quality_score=item.average_quality_score,
                available=item.available,
                reason=item.reason,
                running=item.running,
                max_concurrency=item.spec.max_concurrency,
            )
            for item in standings
        ]
    )


@agents_router.post(
    "/agents/task/assign",
    response_model=TaskRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_ACTING, UnknownAgent, AgentBusy, ValidationFailed),
)
async def assign_task(
    body: TaskAssign, request: Request, session: SessionDep, principal: Writer
) -> TaskRead:
    """Give one of your jobs a task for an agent; it runs in the background."""
    task = await agent_service.assign(
        session,
        principal,
        job_id=body.job_id,
        agent_id=body.agent_id,
        description=body.task_description,
        requirements=body.requirements,
        kind=body.kind,
    )
    return await task_read(_storage(request), task, ())


@agents_router.get(
    "/agents/task/{task_id}/status",
    response_model=TaskStatusRead,
    responses=problem_responses(*_AUTHENTICATED, TaskNotFound),
)
async def task_status_of(
    task_id: uuid.UUID, session: SessionDep, principal: Reader
) -> TaskStatusRead:
    return task_status(await agent_service.task(session, principal, task_id=task_id))


@agents_router.post(
    "/agents/task/{task_id}/retry",
    response_model=TaskStatusRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(
        *_AUTHENTICATED, TaskNotFound, InvalidTaskState, InvalidJobTransition
    ),
)
async def retry_task(
    task_id: uuid.UUID, session: SessionDep, principal: Writer, body: RetryRequest | None = None
) -> TaskStatusRead:
    """Run the task again as its next version, from your feedback (or the judges')."""
    task = await agent_service.retry(
        session, principal, task_id=task_id, feedback=body.feedback if body else None
    )
    return task_status(task)
