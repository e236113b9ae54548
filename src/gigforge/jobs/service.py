"""Jobs: created from won proposals, moved through their states, reviewed and delivered.

Every state change goes through `_move`, which checks `states.JOB_TRANSITIONS` (an illegal one
raises InvalidJobTransition, a 409), audits the change and publishes `job.status_changed` in the
same unit of work. Work that reaches a platform (accepting a Freelancer.com award, delivering)
and agent runs are tasks enqueued here and run by `running` and `delivery`, outside any
transaction. The service never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.certifications.rules import AUTONOMOUS_DELIVERY_LEVEL
from gigforge.certifications.service import certifications as certification_service
from gigforge.jobs.errors import InvalidJobTransition, JobNotFound, NotWon
from gigforge.jobs.events import (
    JobApproved,
    JobCreated,
    JobRevisionRequested,
    JobStatusChanged,
    JobTaskUpdated,
)
from gigforge.jobs.models import Deliverable, Job, JobDelivery, JobRevision, JobTask
from gigforge.jobs.planning import PlannedTask, plan
from gigforge.jobs.repository import (
    DeliverableRepository,
    DeliveryRepository,
    JobRepository,
    RevisionRepository,
    TaskRepository,
)
from gigforge.jobs.states import FINISHED, JobStatus, TaskStatus, allowed
from gigforge.kit.actor import SYSTEM, Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.outbox import publish
from gigforge.kit.pagination import PageParams
from gigforge.kit.tasks import enqueue
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.proposals.service import proposals as proposal_service

RUN_TASK = "jobs.run_task"
ACCEPT_TASK = "jobs.accept_award"
DELIVER_TASK = "jobs.deliver"
SYNC_MESSAGES_TASK = "jobs.sync_messages"
#: Platforms whose awards are accepted through their API once the user confirms.
API_ACCEPTED = frozenset({"freelancer"})


@dataclass(frozen=True)
class WonWork:
    """What a job is made from: an award read from a platform, an alert, or the user's word."""

    platform: str
    source: str  # award, marked_won, alert
    title: str
    description: str = ""
    url: str | None = None
    client_name: str | None = None
    budget_minor: int | None = None
    currency: str | None = None
    deadline: datetime | None = None
    external_project_id: str | None = None
    external_bid_id: str | None = None
    proposal_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    accepted: bool = False  # the platform says the award is already accepted


def progress(job: Job, tasks: Sequence[JobTask]) -> float:
    """The share of the current round's tasks that finished (1.0 once in review or later)."""
    if job.status in (JobStatus.review, JobStatus.delivered, JobStatus.completed):
        return 1.0
    live = [task for task in tasks if task.status is not TaskStatus.cancelled]
    if not live:
        return 0.0
    return round(sum(task.status in FINISHED for task in live) / len(live), 3)


class JobService:
    # Creating

    async def create(self, session: AsyncSession, user_id: uuid.UUID, work: WonWork) -> Job:
        """A job for won work, once per proposal: a second award or alert for the same
        proposal returns the job made the first time."""
        jobs = JobRepository(session)
        if work.proposal_id is not None:
            existing = await jobs.for_proposal(work.proposal_id)
            if existing is not None:
                return existing
        job = await jobs.create(
            Job(
                user_id=user_id,
                proposal_id=work.proposal_id,
                opportunity_id=work.opportunity_id,
                platform=work.platform,
                source=work.source,
                external_project_id=work.external_project_id,
                external_bid_id=work.external_bid_id,
                title=work.title[:300],
                description=work.description,
                url=work.url,
                client_name=work.client_name,
                budget_minor=work.budget_minor,
                currency=work.currency,
                deadline=work.deadline,
                status=JobStatus.pending,
            )
        )
        session.add(JobRevision(job_id=job.id, number=0, feedback=None, requested_by="award"))
        await audit_service.record(
            session,
            Actor(user_id=user_id),
            action="job.created",
            user_id=user_id,
            target_type="job",
            target_id=job.id,
            data={"source": work.source, "platform": work.platform},
        )
        await publish(
            session,
            JobCreated(job_id=job.id, platform=job.platform, source=work.source, title=job.title),
            user_id=user_id,
        )
        if work.accepted:
            await self._start(session, job, Actor(user_id=user_id))
        await session.flush()
        return job

    async def won_from_proposal(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        proposal_id: uuid.UUID,
        source: str,
        accepted: bool = False,
        external_bid_id: str | None = None,
    ) -> Job:
        """The proposal won: it is marked so (and the opportunity's outcome taught to the
        scorer), and its job is made from the opportunity it answered."""
        proposal = await proposal_service.mark_won(session, user_id, proposal_id=proposal_id)
        if proposal is None:
            raise NotWon("Only a submitted or handed-off proposal can be marked won")
        opportunity = await opportunity_service.brief(
            session, user_id=user_id, opportunity_id=proposal.opportunity_id
        )
        client = (opportunity.client if opportunity else {}) or {}
        return await self.create(
            session,
            user_id,
            WonWork(
                platform=proposal.platform,
                source=source,
                title=opportunity.title if opportunity else "Won work",
                description=opportunity.description_text if opportunity else "",
                url=opportunity.url if opportunity else None,
                client_name=str(client.get("name")) if client.get("name") else None,
                budget_minor=proposal.amount_minor,
                currency=proposal.currency,
                external_project_id=opportunity.external_id if opportunity else None,
                external_bid_id=external_bid_id or proposal.external_id,
                proposal_id=proposal.id,
                opportunity_id=proposal.opportunity_id,
                accepted=accepted,
            ),
        )

    # Reading

    async def get(self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID) -> Job:
        job = await JobRepository(session).get_owned(principal.user_id, job_id)
        if job is None:
            raise JobNotFound("No such job")
        return job

    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        statuses: Sequence[JobStatus] = (),
        platform: str | None = None,
        since: datetime | None = None,
        page: PageParams,
    ) -> tuple[Sequence[Job], int]:
        jobs = JobRepository(session)
        return await jobs.paginate(
            jobs.listed(principal.user_id, statuses=statuses, platform=platform, since=since), page
        )

    async def for_external_project(
        self, session: AsyncSession, user_id: uuid.UUID, *, platform: str, project: str
    ) -> Job | None:
        """The user's job for a platform's project (or order), however it was made."""
        return await JobRepository(session).for_external_project(user_id, platform, project)

    async def find(self, session: AsyncSession, job_id: uuid.UUID) -> Job | None:
        """Any user's job by id, for background work acting for its owner (a payment)."""
        return await JobRepository(session).get(job_id)

    async def for_proposal(self, session: AsyncSession, proposal_id: uuid.UUID) -> Job | None:
        return await JobRepository(session).for_proposal(proposal_id)

    async def counts(self, session: AsyncSession, principal: Principal) -> dict[JobStatus, int]:
        return await JobRepository(session).count_by_status(principal.user_id)

    async def tasks(self, session: AsyncSession, job: Job) -> Sequence[JobTask]:
        return await TaskRepository(session).of_job(job.id)

    async def deliverables(self, session: AsyncSession, job: Job) -> Sequence[Deliverable]:
        """Every version of every task's files, newest version first per task."""
        return await DeliverableRepository(session).of_job(job.id)

    async def revisions(self, session: AsyncSession, job: Job) -> Sequence[JobRevision]:
        return await RevisionRepository(session).of_job(job.id)

    async def deliveries(self, session: AsyncSession, job: Job) -> Sequence[JobDelivery]:
        return await DeliveryRepository(session).of_job(job.id)

    async def progress(self, session: AsyncSession, job: Job) -> float:
        return progress(job, await self.tasks(session, job))

    # Acting

    async def accept(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        job_id: uuid.UUID,
        autonomous: bool = False,
        quality_threshold: float | None = None,
    ) -> Job:
        """The user confirms the won work. A Freelancer.com award is then accepted through
        its API (by the task `jobs.accept_award`, which starts the job once the platform
        agreed); elsewhere the job starts now. Autonomous delivery needs level 2."""
        job = await self._locked(session, principal, job_id)
        if job.status is not JobStatus.pending:
            raise InvalidJobTransition(f"A {job.status.value} job cannot be accepted")
        if autonomous:
            await certification_service.require_level(
                session,
                principal,
                AUTONOMOUS_DELIVERY_LEVEL,
                action="let AI agents deliver work without your review",
            )
        job.autonomous = autonomous
        if quality_threshold is not None:
            job.quality_threshold = quality_threshold
        job.accepted_at = utcnow()
        await audit_service.record(
            session,
            principal.actor,
            action="job.accepted",
            target_type="job",
            target_id=job.id,
            data={"autonomous": autonomous, "via": "api" if self._via_api(job) else "user"},
        )
        if self._via_api(job):
            await enqueue(
                session,
                ACCEPT_TASK,
                user_id=job.user_id,
                dedupe_key=f"{ACCEPT_TASK}:{job.id}",
                job_id=str(job.id),
            )
        else:
            await self._start(session, job, principal.actor)
        await session.flush()
        return job

    async def start_accepted(self, session: AsyncSession, job_id: uuid.UUID) -> Job | None:
        """The platform accepted the award (run by `jobs.accept_award`): the job starts."""
        job = await JobRepository(session).locked(job_id)
        if job is None or job.status is not JobStatus.pending:
            return None
        await self._start(session, job, SYSTEM)
        return job

    async def approve(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID
    ) -> Job:
        """The user approves the round in review; delivery needs it."""
        job = await self._locked(session, principal, job_id)
        if job.status is not JobStatus.review:
            raise InvalidJobTransition(f"A {job.status.value} job has no work to approve")
        if job.approved_at is not None:
            raise InvalidJobTransition("This job's work is approved already")
        await self._approve(session, job, principal.actor)
        await session.flush()
        return job

    async def request_revision(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID, feedback: str
    ) -> Job:
        """A new round: every task runs again from the feedback, writing its next version."""
        job = await self._locked(session, principal, job_id)
        if not allowed(job.status, JobStatus.in_progress) or job.status not in (
            JobStatus.review,
            JobStatus.delivered,
        ):
            raise InvalidJobTransition(f"A {job.status.value} job cannot be revised")
        job.revision += 1
        job.approved_at = None
        session.add(
            JobRevision(job_id=job.id, number=job.revision, feedback=feedback, requested_by="user")
        )
        tasks = [t for t in await self.tasks(session, job) if t.status is not TaskStatus.cancelled]
        for task in tasks:
            await self.requeue(session, task, feedback=feedback)
        await self._move(session, job, JobStatus.in_progress, principal.actor, reason="revision")
        await audit_service.record(
            session,
            principal.actor,
            action="job.revision_requested",
            target_type="job",
            target_id=job.id,
            data={"revision": job.revision},
        )
        await publish(
            session,
            JobRevisionRequested(job_id=job.id, revision=job.revision, feedback=feedback),
            user_id=job.user_id,
        )
        await session.flush()
        return job

    async def deliver(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID
    ) -> Job:
        """Send the approved round to the client, once: the delivery row is unique per round,
        and the task `jobs.deliver` sends it."""
        job = await self._locked(session, principal, job_id)
        if job.status is not JobStatus.review:
            raise InvalidJobTransition(f"A {job.status.value} job cannot be delivered")
        if job.approved_at is None:
            raise InvalidJobTransition("Approve the job's work before delivering it")
        await self._queue_delivery(session, job, principal.actor)
        await session.flush()
        return job

    async def reopen(self, session: AsyncSession, job: Job, actor: Actor) -> None:
        """Work in review is being redone (a task retried): back in progress, unapproved."""
        job.approved_at = None
        await self._move(session, job, JobStatus.in_progress, actor, reason="task retried")

    async def mark_delivered(self, session: AsyncSession, job: Job, actor: Actor) -> None:
        """The round reached the client (run by `jobs.deliver`)."""
        await self._move(session, job, JobStatus.delivered, actor)

    async def complete(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID
    ) -> Job:
        """The client accepted the delivered work."""
        job = await self._locked(session, principal, job_id)
        job.completed_at = utcnow()
        await self._move(session, job, JobStatus.completed, principal.actor)
        await session.flush()
        return job

    async def cancel(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID
    ) -> Job:
        job = await self._locked(session, principal, job_id)
        await self._move(session, job, JobStatus.cancelled, principal.actor)
        job.cancelled_at = utcnow()
        for task in await self.tasks(session, job):
            if task.status in (TaskStatus.queued, TaskStatus.running):
                task.status = TaskStatus.cancelled
                task.claimed_until = None
        await session.flush()
        return job

    # Tasks

    async def add_task(
        self,
        session: AsyncSession,
        job: Job,
        planned: PlannedTask,
        *,
        actor: Actor,
    ) -> JobTask:
        """A task for an agent on this job, queued to run after the commit."""
        task = await TaskRepository(session).create(
            JobTask(
                job_id=job.id,
                user_id=job.user_id,
                agent=planned.agent,
                kind=planned.kind,
                description=planned.description,
                requirements=dict(planned.requirements),
                status=TaskStatus.queued,
                version=1,
            )
        )
        await audit_service.record(
            session,
            actor,
            action="job.task_assigned",
            user_id=job.user_id,
            target_type="job_task",
            target_id=task.id,
            data={"job": str(job.id), "agent": planned.agent, "kind": planned.kind},
        )
        await self._enqueue_run(session, task)
        if job.status in (JobStatus.review, JobStatus.delivered):
            job.approved_at = None
            await self._move(session, job, JobStatus.in_progress, actor, reason="task added")
        await self.task_changed(session, job, task)
        return task

    async def requeue(self, session: AsyncSession, task: JobTask, *, feedback: str | None) -> None:
        """The task's next round: a new deliverable version, from `feedback`."""
        task.version += 1
        task.feedback = feedback
        task.status = TaskStatus.queued
        task.runs = 0
        task.error = None
        task.claimed_until = None
        await self._enqueue_run(session, task)

    async def task_changed(self, session: AsyncSession, job: Job, task: JobTask) -> None:
        """Publish the task's state, and move the job to review when its round is done."""
        tasks = await self.tasks(session, job)
        await publish(
            session,
            JobTaskUpdated(
                job_id=job.id,
                task_id=task.id,
                agent=task.agent,
                status=task.status.value,
                quality_score=task.quality_score,
                progress=progress(job, tasks),
            ),
            user_id=job.user_id,
        )
        if task.status is TaskStatus.running and job.status is JobStatus.active:
            await self._move(session, job, JobStatus.in_progress, SYSTEM)
        live = [t for t in tasks if t.status is not TaskStatus.cancelled]
        if (
            live
            and all(t.status in FINISHED for t in live)
            and job.status in (JobStatus.active, JobStatus.in_progress)
        ):
            await self._move(session, job, JobStatus.review, SYSTEM)
            if job.autonomous and all(t.status is TaskStatus.done for t in live):
                await self._approve(session, job, SYSTEM)
                await self._queue_delivery(session, job, SYSTEM)

    # Internals

    async def _locked(self, session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> Job:
        job = await JobRepository(session).locked(job_id)
        if job is None or job.user_id != principal.user_id:
            raise JobNotFound("No such job")
        return job

    def _via_api(self, job: Job) -> bool:
        return (
            job.platform in API_ACCEPTED
            and job.source == "award"
            and job.external_bid_id is not None
        )

    async def _start(self, session: AsyncSession, job: Job, actor: Actor) -> None:
        await self._move(session, job, JobStatus.active, actor)
        job.accepted_at = job.accepted_at or utcnow()
        await enqueue(
            session,
            SYNC_MESSAGES_TASK,
            user_id=job.user_id,
            dedupe_key=f"{SYNC_MESSAGES_TASK}:{job.id}:started",
            job_id=str(job.id),
        )
        for planned in plan(job.title, job.description):
            await self.add_task(session, job, planned, actor=actor)

    async def _approve(self, session: AsyncSession, job: Job, actor: Actor) -> None:
        job.approved_at = utcnow()
        await audit_service.record(
            session,
            actor,
            action="job.approved",
            user_id=job.user_id,
            target_type="job",
            target_id=job.id,
            data={"revision": job.revision},
        )
        await publish(
            session, JobApproved(job_id=job.id, revision=job.revision), user_id=job.user_id
        )

    async def _queue_delivery(self, session: AsyncSession, job: Job, actor: Actor) -> None:
        deliveries = DeliveryRepository(session)
        if await deliveries.for_round(job.id, job.revision) is not None:
            raise InvalidJobTransition("This round of the job is being delivered already")
        reference = f"GF-{job.id.hex[:8]}-{job.revision}"
        await deliveries.create(
            JobDelivery(
                job_id=job.id,
                user_id=job.user_id,
                revision=job.revision,
                channel="pending",
                status="queued",
                message="",
                reference=reference,
            )
        )
        await audit_service.record(
            session,
            actor,
            action="job.delivery_requested",
            user_id=job.user_id,
            target_type="job",
            target_id=job.id,
            data={"revision": job.revision, "reference": reference},
        )
        await enqueue(
            session,
            DELIVER_TASK,
            user_id=job.user_id,
            dedupe_key=f"{DELIVER_TASK}:{job.id}:{job.revision}",
            job_id=str(job.id),
            revision=job.revision,
        )

    async def _enqueue_run(self, session: AsyncSession, task: JobTask) -> None:
        await session.flush()
        await enqueue(
            session,
            RUN_TASK,
            user_id=task.user_id,
            dedupe_key=f"{RUN_TASK}:{task.id}:{task.version}",
            task_id=str(task.id),
            version=task.version,
        )

    async def _move(
        self,
        session: AsyncSession,
        job: Job,
        target: JobStatus,
        actor: Actor,
        *,
        reason: str | None = None,
    ) -> None:
        if not allowed(job.status, target):
            raise InvalidJobTransition(
                f"A {job.status.value} job cannot become {target.value.replace('_', ' ')}"
            )
        previous = job.status
        job.status = target
        await audit_service.record(
            session,
            actor,
            action="job.status_changed",
            user_id=job.user_id,
            target_type="job",
            target_id=job.id,
            data={
                "from": previous.value,
                "to": target.value,
                **({"reason": reason} if reason else {}),
            },
        )
        await publish(
            session,
            JobStatusChanged(
                job_id=job.id,
                previous=previous.value,
                status=target.value,
                progress=progress(job, await self.tasks(session, job)),
            ),
            user_id=job.user_id,
        )


jobs = JobService()
