"""Jobs, tasks and deliverables as the API and the dashboard show them.

Download links are signed by the process's storage and expire (`Storage.link_lifetime`); they
are made when a job is read, never stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.agents import UnknownAgent
from gigforge.jobs.catalog import agents
from gigforge.jobs.models import Deliverable, Job, JobDelivery, JobTask
from gigforge.jobs.schemas import (
    AgentRef,
    CheckRead,
    DeliverableRead,
    DeliveryRead,
    JobDetail,
    JobRead,
    RevisionRead,
    TaskRead,
    TaskStatusRead,
)
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.service import progress
from gigforge.jobs.states import TaskStatus
from gigforge.kit.money import minor_to_major
from gigforge.storage import Storage


def agent_ref(slug: str) -> AgentRef:
    try:
        return AgentRef(agent_id=slug, name=agents().get(slug).spec.name)
    except UnknownAgent:
        return AgentRef(agent_id=slug, name=f"{slug} (not installed)")


def job_read(job: Job, tasks: Sequence[JobTask]) -> JobRead:
    return JobRead(
        id=job.id,
        title=job.title,
        description=job.description,
        platform=job.platform,
        source=job.source,
        url=job.url,
        client_name=job.client_name,
        budget=minor_to_major(job.budget_minor, job.currency)
        if job.budget_minor is not None and job.currency
        else None,
        currency=job.currency,
        deadline=job.deadline,
        status=job.status,
        progress=progress(job, tasks),
        quality_threshold=job.quality_threshold,
        autonomous=job.autonomous,
        revision=job.revision,
        proposal_id=job.proposal_id,
        approved=job.approved_at is not None,
        note=job.note,
        accepted_at=job.accepted_at,
        delivered_at=job.delivered_at,
        completed_at=job.completed_at,
        created_at=job.created_at,
        updated_at=job.updated_at,
    )


async def deliverable_read(storage: Storage, row: Deliverable) -> DeliverableRead:
    return DeliverableRead(
        id=row.id,
        task_id=row.task_id,
        name=row.name,
        media_type=row.media_type,
        size=row.size,
        sha256=row.sha256,
        version=row.version,
        revision=row.revision,
        quality_score=row.quality_score,
        feedback=row.feedback,
        preview=row.preview,
        created_at=row.created_at,
        download_url=await storage.signed_url(
            row.storage_key, version=row.storage_version, filename=row.name
        ),
    )


async def task_read(
    storage: Storage, task: JobTask, deliverables: Sequence[Deliverable]
) -> TaskRead:
    report = dict(task.report or {})
    current = [d for d in deliverables if d.task_id == task.id and d.version == task.version]
    return TaskRead(
        id=task.id,
        job_id=task.job_id,
        agent=agent_ref(task.agent),
        kind=task.kind,
        description=task.description,
        requirements=dict(task.requirements or {}),
        status=task.status,
        version=task.version,
        feedback=task.feedback,
        quality_score=task.quality_score,
        disagreement=task.disagreement,
        judge_reasons=task.judge_reasons,
        below_threshold=task.status is TaskStatus.below_threshold,
        attempts=task.attempts,
        cost_usd=round(task.cost_micro_usd / 1_000_000, 6),
        error=task.error,
        checks=[CheckRead.model_validate(check) for check in report.get("checks", [])],
        report=report,
        output=[await deliverable_read(storage, row) for row in current],
        started_at=task.started_at,
        finished_at=task.finished_at,
    )


def task_status(task: JobTask) -> TaskStatusRead:
    return TaskStatusRead(
        task_id=task.id,
        job_id=task.job_id,
        agent_id=task.agent,
        status=task.status,
        quality_score=task.quality_score,
        below_threshold=task.status is TaskStatus.below_threshold,
        attempts=task.attempts,
        version=task.version,
        error=task.error,
        updated_at=task.updated_at,
    )


async def delivery_read(storage: Storage, row: JobDelivery) -> DeliveryRead:
    return DeliveryRead(
        revision=row.revision,
        channel=row.channel,
        status=row.status,
        message=row.message,
        reference=row.reference,
        external_id=row.external_id,
        error=row.error,
        sent_at=row.sent_at,
        package_url=await storage.signed_url(row.package_key, filename=f"{row.reference}.zip")
        if row.package_key
        else None,
    )


async def job_detail(session: AsyncSession, storage: Storage, job: Job) -> JobDetail:
    tasks = await job_service.tasks(session, job)
    deliverables = await job_service.deliverables(session, job)
    revisions = await job_service.revisions(session, job)
    deliveries = await job_service.deliveries(session, job)
    return JobDetail(
        **job_read(job, tasks).model_dump(),
        tasks=[await task_read(storage, task, deliverables) for task in tasks],
        revisions=[RevisionRead.model_validate(revision) for revision in revisions],
        deliveries=[await delivery_read(storage, row) for row in deliveries],
    )
