"""Every query of the jobs domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, func, select

from gigforge.jobs.models import (
    Deliverable,
    Job,
    JobDelivery,
    JobMessage,
    JobRevision,
    JobTask,
)
from gigforge.jobs.states import JobStatus, TaskStatus
from gigforge.kit.repository import Repository


class JobRepository(Repository[Job]):
    model = Job

    def listed(
        self,
        user_id: uuid.UUID,
        *,
        statuses: Iterable[JobStatus] = (),
        platform: str | None = None,
        since: datetime | None = None,
    ) -> Select[Job]:
        """The user's jobs, newest first, filtered by state, platform and creation time."""
        statement = self.scoped(user_id)
        wanted = tuple(statuses)
        if wanted:
            statement = statement.where(Job.status.in_(wanted))
        if platform is not None:
            statement = statement.where(Job.platform == platform)
        if since is not None:
            statement = statement.where(Job.created_at >= since)
        return statement.order_by(Job.created_at.desc(), Job.id.desc())

    async def for_external_project(
        self, user_id: uuid.UUID, platform: str, external_project_id: str
    ) -> Job | None:
        return await self.get_one(
            self.scoped(user_id).where(
                Job.platform == platform, Job.external_project_id == external_project_id
            )
        )

    async def for_proposal(self, proposal_id: uuid.UUID) -> Job | None:
        return await self.get_one(self.statement().where(Job.proposal_id == proposal_id))

    async def locked(self, job_id: uuid.UUID) -> Job | None:
        """The job, its row locked until the transaction ends (PostgreSQL; SQLite writes are
        serialised anyway)."""
        return await self.session.get(Job, job_id, with_for_update=True, populate_existing=True)

    async def count_by_status(self, user_id: uuid.UUID) -> dict[JobStatus, int]:
        rows = await self.session.execute(
            select(Job.status, func.count()).where(Job.user_id == user_id).group_by(Job.status)
        )
        return {JobStatus(status): int(count) for status, count in rows.all()}


class TaskRepository(Repository[JobTask]):
    model = JobTask

    async def of_job(self, job_id: uuid.UUID) -> Sequence[JobTask]:
        return await self.all(
            self.statement().where(JobTask.job_id == job_id).order_by(JobTask.created_at)
        )

    async def running_for_agent(self, user_id: uuid.UUID, agent: str) -> int:
        statement = select(func.count()).where(
            JobTask.user_id == user_id,
            JobTask.agent == agent,
            JobTask.status.in_((TaskStatus.queued, TaskStatus.running)),
        )
        return int(await self.session.scalar(statement) or 0)

    async def scores_by_agent(self, user_id: uuid.UUID) -> dict[str, float]:
        """The mean recorded quality score of each agent's scored tasks for this user."""
        rows = await self.session.execute(
            select(JobTask.agent, func.avg(JobTask.quality_score))
            .where(JobTask.user_id == user_id, JobTask.quality_score.is_not(None))
            .group_by(JobTask.agent)
        )
        return {agent: round(float(mean), 2) for agent, mean in rows.all() if mean is not None}


class DeliverableRepository(Repository[Deliverable]):
    """Deliverables are reached through their job, which is scoped to its owner."""

    model = Deliverable
    owner_column = None

    async def of_job(self, job_id: uuid.UUID) -> Sequence[Deliverable]:
        return await self.all(
            self.statement()
            .where(Deliverable.job_id == job_id)
            .order_by(Deliverable.task_id, Deliverable.version.desc(), Deliverable.name)
        )

    async def of_round(self, task_id: uuid.UUID, version: int) -> Sequence[Deliverable]:
        return await self.all(
            self.statement()
            .where(Deliverable.task_id == task_id, Deliverable.version == version)
            .order_by(Deliverable.name)
        )


class RevisionRepository(Repository[JobRevision]):
    model = JobRevision
    owner_column = None

    async def of_job(self, job_id: uuid.UUID) -> Sequence[JobRevision]:
        return await self.all(
            self.statement().where(JobRevision.job_id == job_id).order_by(JobRevision.number)
        )


class DeliveryRepository(Repository[JobDelivery]):
    model = JobDelivery

    async def of_job(self, job_id: uuid.UUID) -> Sequence[JobDelivery]:
        return await self.all(
            self.statement().where(JobDelivery.job_id == job_id).order_by(JobDelivery.revision)
        )

    async def for_round(self, job_id: uuid.UUID, revision: int) -> JobDelivery | None:
        return await self.get_one(
            self.statement().where(JobDelivery.job_id == job_id, JobDelivery.revision == revision)
        )


class MessageRepository(Repository[JobMessage]):
    """A job's conversation with its client."""

    model = JobMessage

    async def of_job(self, job_id: uuid.UUID) -> Sequence[JobMessage]:
        """Oldest first: a received message at its platform time, ours when written here."""
        moment = func.coalesce(JobMessage.sent_at, JobMessage.created_at)
        return await self.all(
            self.statement()
            .where(JobMessage.job_id == job_id)
            .order_by(moment, JobMessage.created_at, JobMessage.id)
        )

    async def external_ids(self, job_id: uuid.UUID) -> set[str]:
        rows = await self.session.scalars(
            select(JobMessage.external_id).where(
                JobMessage.job_id == job_id, JobMessage.external_id.is_not(None)
            )
        )
        return {row for row in rows if row is not None}

    async def last_seen(self, job_id: uuid.UUID) -> dict[str, datetime]:
        """The newest platform time read (or sent) in each of the job's threads."""
        rows = await self.session.execute(
            select(JobMessage.external_thread_id, func.max(JobMessage.sent_at))
            .where(
                JobMessage.job_id == job_id,
                JobMessage.external_id.is_not(None),
                JobMessage.external_thread_id.is_not(None),
                JobMessage.sent_at.is_not(None),
            )
            .group_by(JobMessage.external_thread_id)
        )
        return {thread: moment for thread, moment in rows.all() if thread and moment}

    async def latest_thread(self, job_id: uuid.UUID) -> str | None:
        """The thread the job's newest platform message is in: where a reply goes."""
        return await self.session.scalar(
            select(JobMessage.external_thread_id)
            .where(JobMessage.job_id == job_id, JobMessage.external_thread_id.is_not(None))
            .order_by(JobMessage.sent_at.desc().nulls_last(), JobMessage.created_at.desc())
            .limit(1)
        )

    async def by_external_id(self, job_id: uuid.UUID, external_id: str) -> JobMessage | None:
        return await self.get_one(
            self.statement().where(
                JobMessage.job_id == job_id, JobMessage.external_id == external_id
            )
        )

    async def locked(self, message_id: uuid.UUID) -> JobMessage | None:
        return await self.session.get(
            JobMessage, message_id, with_for_update=True, populate_existing=True
        )

    async def syncable_jobs(
        self, platforms: Iterable[str], statuses: Iterable[JobStatus]
    ) -> Sequence[tuple[uuid.UUID, uuid.UUID]]:
        """(job id, owner id) of every user's jobs in these states on these platforms that
        name their project, so their threads can be found."""
        rows = await self.session.execute(
            select(Job.id, Job.user_id).where(
                Job.platform.in_(tuple(platforms)),
                Job.status.in_(tuple(statuses)),
                Job.external_project_id.is_not(None),
            )
        )
        return [(job_id, user_id) for job_id, user_id in rows.all()]
