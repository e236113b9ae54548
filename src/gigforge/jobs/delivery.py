"""Delivering a job's approved round to the client, exactly once.

`JobService.deliver` writes one `job_deliveries` row per (job, revision) and enqueues
`jobs.deliver`. A run:

1. claims the row (`sending`, a lease, one more attempt) and reads the round's files (the newest
   version of each task's deliverables) and the channel, in a short transaction;
2. with no transaction open, reads each file back through storage (its checksum verified),
   packs them into a zip with the message, stores the zip, and sends: through the platform's
   sanctioned channel where the user has one (a Freelancer.com message with the files attached),
   or as a hand-off (the zip and the message for the user to paste) elsewhere;
3. records the outcome, moves the job to DELIVERED, audits it and publishes `job.delivered`.

The message carries the delivery's reference (`GF-<job>-<round>`). Freelancer.com takes no
idempotency key, so a rerun after a crash first looks for a message with that reference in the
thread and records it instead of sending twice, as bids are reconciled.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import (
    Capability,
    IntegrationError,
    NotSupported,
    RateLimited,
    Transient,
    Unavailable,
)
from gigforge.integrations.framework.capabilities import (
    Attachment,
    ClientMessaging,
    OutgoingMessage,
)
from gigforge.jobs.events import JobDelivered
from gigforge.jobs.models import Deliverable, Job, JobDelivery
from gigforge.jobs.repository import DeliverableRepository, DeliveryRepository, TaskRepository
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus, TaskStatus
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.storage import Storage, user_key

logger = structlog.get_logger("gigforge.jobs")

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=2)
HAND_OFF = "hand_off"
DEFERRED = "deferred"
PLATFORM_MESSAGE = "{platform}_message"


class DeliveryBusy(Exception):
    """Another run holds the delivery's lease; the task tries again after its backoff."""


@dataclass(frozen=True)
class _File:
    name: str
    media_type: str
    key: str
    version: str | None
    sha256: str


@dataclass
class _Claimed:
    delivery_id: uuid.UUID
    job_id: uuid.UUID
    user_id: uuid.UUID
    revision: int
    attempts: int
    reference: str
    platform: str
    project: str | None
    message: str
    files: list[_File] = field(default_factory=list)
    connector: ClientMessaging | None = None


def delivery_message(job: Job, files: Sequence[str], reference: str) -> str:
    """The message that goes with the files: to the client's thread, or for the user to paste."""
    greeting = f"Hi {job.client_name}," if job.client_name else "Hello,"
    listed = "\n".join(f"- {name}" for name in files) or "- (no files)"
    return (
        f"{greeting}\n\n"
        f'Here is the delivery for "{job.title}"'
        + (f" (revision {job.revision})" if job.revision else "")
        + f".\n\nFiles:\n{listed}\n\n"
        "Please review them and tell me if anything should change.\n\n"
        f"Ref: {reference}"
    )


async def deliver(
    context: IntegrationContext,
    storage: Storage,
    job_id: uuid.UUID,
    *,
    revision: int,
    lease: timedelta,
) -> str | None:
    """Claim, pack, send, record; the delivery's final status, or None when there is nothing
    to do (sent already, a later round, the job cancelled)."""
    claimed = await _claim(context, job_id, revision, lease)
    if claimed is None:
        return None
    package = await _package(storage, claimed)
    stored = await storage.put(
        user_key(claimed.user_id, f"jobs/{claimed.job_id}/deliveries/{claimed.reference}.zip"),
        package,
        content_type="application/zip",
    )
    if claimed.connector is None:
        return await _record(context, claimed, stored.key, stored.sha256, hand_off=True)
    attachments = [
        Attachment(
            name=item.name,
            media_type=item.media_type,
            content=await storage.get(item.key, version=item.version, expected_sha256=item.sha256),
        )
        for item in claimed.files
    ]
    try:
        async with claimed.connector.client:
            sent = await claimed.connector.send_message(
                OutgoingMessage(
                    external_project_id=claimed.project,
                    text=claimed.message,
                    attachments=tuple(attachments),
                    idempotency_key=claimed.reference,
                )
            )
    except NotSupported:
        return await _record(context, claimed, stored.key, stored.sha256, hand_off=True)
    except (Transient, RateLimited, Unavailable) as exc:
        return await _record(context, claimed, stored.key, stored.sha256, deferred=exc)
    except IntegrationError as exc:
        return await _record(context, claimed, stored.key, stored.sha256, failed=exc)
    return await _record(context, claimed, stored.key, stored.sha256, external_id=sent.message_id)


async def deliver_or_retry(
    context: IntegrationContext,
    storage: Storage,
    job_id: uuid.UUID,
    *,
    revision: int,
    lease: timedelta,
) -> str | None:
    """`deliver`, raising DeliveryBusy after a deferral was recorded, so the task engine tries
    again after its backoff."""
    status = await deliver(context, storage, job_id, revision=revision, lease=lease)
    if status == DEFERRED:
        raise DeliveryBusy(f"the platform could not take job {job_id}'s delivery now")
    return status


async def _package(storage: Storage, claimed: _Claimed) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in claimed.files:
            content = await storage.get(item.key, version=item.version, expected_sha256=item.sha256)
            archive.writestr(item.name, content)
        archive.writestr("MESSAGE.txt", claimed.message)
    return buffer.getvalue()


async def _claim(
    context: IntegrationContext, job_id: uuid.UUID, revision: int, lease: timedelta
) -> _Claimed | None:
    now = utcnow()
    async with unit_of_work(context.database) as session:
        taken = await session.execute(
            update(JobDelivery)
            .where(
                JobDelivery.job_id == job_id,
                JobDelivery.revision == revision,
                or_(
                    JobDelivery.status == "queued",
                    and_(JobDelivery.status == "sending", JobDelivery.claimed_until < now),
                ),
            )
            .values(status="sending", claimed_until=now + lease, attempts=JobDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        job = await session.get(Job, job_id)
        delivery = await DeliveryRepository(session).for_round(job_id, revision)
        if getattr(taken, "rowcount", 0) != 1 or job is None or delivery is None:
            return None
        await session.refresh(delivery)
        if job.status is not JobStatus.review or job.revision != revision:
            return None
        files = await _round_files(session, job)
        message = delivery_message(job, [item.name for item in files], delivery.reference)
        claimed = _Claimed(
            delivery_id=delivery.id,
            job_id=job.id,
            user_id=job.user_id,
            revision=revision,
            attempts=delivery.attempts,
            reference=delivery.reference,
            platform=job.platform,
            project=job.external_project_id,
            message=message,
            files=files,
        )
        for connection in await connection_service.chain(
            session, job.user_id, Capability.marketplace, context=context
        ):
            if connection.integration != job.platform or not job.external_project_id:
                continue
            connector = await connection_service.connector(
                session, context=context, connection=connection
            )
            if isinstance(connector, ClientMessaging):
                claimed.connector = connector
            break
        return claimed


async def _round_files(session: AsyncSession, job: Job) -> list[_File]:
    """The newest version of each live task's files: what the user approved."""
    tasks = await TaskRepository(session).of_job(job.id)
    deliverables = DeliverableRepository(session)
    files: list[_File] = []
    taken: set[str] = set()
    for task in tasks:
        if task.status is TaskStatus.cancelled:
            continue
        rows: Sequence[Deliverable] = await deliverables.of_round(task.id, task.version)
        for row in rows:
            name = row.name if row.name not in taken else f"{task.agent}-{row.name}"
            taken.add(name)
            files.append(
                _File(name, row.media_type, row.storage_key, row.storage_version, row.sha256)
            )
    return files


async def _record(
    context: IntegrationContext,
    claimed: _Claimed,
    package_key: str,
    package_sha256: str,
    *,
    external_id: str | None = None,
    hand_off: bool = False,
    deferred: IntegrationError | None = None,
    failed: IntegrationError | None = None,
) -> str | None:
    async with unit_of_work(context.database) as session:
        delivery = await session.get(JobDelivery, claimed.delivery_id, with_for_update=True)
        if (
            delivery is None
            or delivery.status != "sending"
            or delivery.attempts != claimed.attempts
        ):
            return None
        job = await session.get(Job, claimed.job_id, with_for_update=True)
        assert job is not None
        delivery.claimed_until = None
        delivery.message = claimed.message
        delivery.package_key = package_key
        delivery.package_sha256 = package_sha256
        actor = Actor(user_id=claimed.user_id)
        if deferred is not None and delivery.attempts < MAX_ATTEMPTS:
            delivery.status = "queued"
            delivery.error = deferred.detail[:500]
            logger.warning("delivery deferred", job=str(job.id), reason=deferred.detail)
            return DEFERRED
        if deferred is not None or failed is not None:
            error = failed or deferred
            assert error is not None
            delivery.status = "failed"
            delivery.error = error.detail[:500]
            await audit_service.record(
                session,
                actor,
                action="job.delivery_failed",
                target_type="job",
                target_id=job.id,
                data={"revision": delivery.revision, "reason": error.detail[:200]},
            )
            return delivery.status
        channel = HAND_OFF if hand_off else PLATFORM_MESSAGE.format(platform=claimed.platform)
        delivery.channel = channel
        delivery.status = "handed_off" if hand_off else "sent"
        delivery.external_id = external_id
        delivery.sent_at = utcnow()
        job.delivered_at = delivery.sent_at
        await job_service.mark_delivered(session, job, actor)
        await audit_service.record(
            session,
            actor,
            action="job.delivered",
            target_type="job",
            target_id=job.id,
            data={"revision": delivery.revision, "channel": channel, "external_id": external_id},
        )
        await publish(
            session,
            JobDelivered(job_id=job.id, revision=delivery.revision, channel=channel),
            user_id=job.user_id,
        )
        return delivery.status
