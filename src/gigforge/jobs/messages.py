"""Client messages on a job: read from the platform, and replies sent once the user approves.

Reading (`sync`, the task `jobs.sync_messages`): with no transaction open, the job's platform
connection, when it is `ClientMessaging`, lists the project's threads and each thread's
messages since the newest one kept (with an overlap, since platforms cut by whole seconds);
then one unit of work keeps the new ones, unique per (job, external id), so reading twice
keeps one row. The client's become "in"/"received"; what the user wrote on the platform
becomes "out"/"sent"; platform notices without a sender are left out. A job is read when it
starts and every SYNC_EVERY while it is worked on (`jobs.plan_message_syncs`), and when the
user asks. A platform without messaging keeps its conversation on the platform: the job page
says so and links it.

Replying: `MessageService.draft` writes an "out"/"draft" row; nothing leaves before
`approve`, which enqueues `jobs.send_message`. The send is the delivery's claim, call, record:
the claim (`sending`, a lease, one more attempt) fences the record, which only the claimant
with the same attempt may write; the call is made with no transaction open; a rerun after a
crash calls again and the connector reconciles by content (Freelancer.com takes no
idempotency key: the text already in the thread is returned as `already_sent`). A platform
whose API sends nothing (Upwork's read-only messaging) fails the message with a hand-off note
saying where to paste it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
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
    ClientMessage,
    ClientMessaging,
    OutgoingMessage,
)
from gigforge.jobs.errors import InvalidMessageState, MessageNotFound
from gigforge.jobs.events import JobMessageReceived, JobMessageSent
from gigforge.jobs.models import Job, JobMessage
from gigforge.jobs.repository import MessageRepository
from gigforge.jobs.schemas import MessageList, MessageRead
from gigforge.jobs.service import SYNC_MESSAGES_TASK
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.kit.tasks import enqueue

logger = structlog.get_logger("gigforge.jobs")

SYNC_TASK = SYNC_MESSAGES_TASK
SEND_TASK = "jobs.send_message"
PLAN_TASK = "jobs.plan_message_syncs"
SYNC_EVERY = timedelta(minutes=5)
#: Read a little before the newest message kept: platforms filter by whole seconds.
OVERLAP = timedelta(minutes=1)
MAX_ATTEMPTS = 5
#: Jobs whose conversation is read on the schedule: won and not yet finished.
SYNCED = (JobStatus.active, JobStatus.in_progress, JobStatus.review, JobStatus.delivered)
APPROVABLE = frozenset({"draft", "failed"})
HAND_OFF_PREFIX = "Send it on "
HAND_OFF_NOTE = HAND_OFF_PREFIX + "{platform}: {where}"
DEFERRED = "deferred"


class MessagesDeferred(Exception):
    """The platform could not be reached now; the task tries again after its backoff."""


@dataclass(frozen=True)
class _Claimed:
    message_id: uuid.UUID
    job_id: uuid.UUID
    user_id: uuid.UUID
    attempts: int
    text: str
    idempotency_key: str
    thread_id: str | None
    project: str | None
    hand_off_note: str
    connector: ClientMessaging | None


def platform_title(context: IntegrationContext, slug: str) -> str:
    for spec in context.registry.specs():
        if spec.slug == slug:
            return spec.title
    return slug.replace("_", " ").title()


def hand_off_note(context: IntegrationContext, job: Job) -> str:
    """Where the user pastes a reply the platform's API will not send."""
    where = job.url or "the job's conversation there"
    return HAND_OFF_NOTE.format(platform=platform_title(context, job.platform), where=where)


def message_read(row: JobMessage) -> MessageRead:
    return MessageRead(
        id=row.id,
        job_id=row.job_id,
        direction=row.direction,
        status=row.status,
        text=row.text,
        external_thread_id=row.external_thread_id,
        external_id=row.external_id,
        error=row.error,
        hand_off=is_hand_off(row),
        sent_at=row.sent_at,
        created_at=row.created_at,
    )


def is_hand_off(row: JobMessage) -> bool:
    """A reply the platform's API would not send, left for the user to paste."""
    return row.status == "failed" and (row.error or "").startswith(HAND_OFF_PREFIX)


async def _messaging_connector(
    session: AsyncSession, context: IntegrationContext, job: Job
) -> ClientMessaging | None:
    """A connector for the user's connection to the job's platform, when it reads messages."""
    for connection in await connection_service.chain(
        session, job.user_id, Capability.marketplace, context=context
    ):
        if connection.integration != job.platform:
            continue
        if not issubclass(context.registry.get(connection.integration), ClientMessaging):
            return None
        connector = await connection_service.connector(
            session, context=context, connection=connection
        )
        return connector if isinstance(connector, ClientMessaging) else None
    return None


class MessageService:
    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        job_id: uuid.UUID,
    ) -> MessageList:
        """The job's conversation, oldest first, and whether it is read here at all."""
        job = await job_service.get(session, principal, job_id=job_id)
        connected = await self.connected(session, context, job)
        note = None
        if not connected:
            note = (
                f"Messages for this job are on {platform_title(context, job.platform)}"
                + (f": {job.url}" if job.url else "")
                + ". Gigforge reads them where you have a connection whose API offers them."
            )
        return MessageList(
            messages=[message_read(row) for row in await self.of_job(session, job)],
            connected=connected,
            note=note,
        )

    async def of_job(self, session: AsyncSession, job: Job) -> Sequence[JobMessage]:
        return await MessageRepository(session).of_job(job.id)

    async def connected(self, session: AsyncSession, context: IntegrationContext, job: Job) -> bool:
        """Whether one of the user's active connections reads this job's threads."""
        if job.external_project_id is None:
            return False
        for connection in await connection_service.chain(
            session, job.user_id, Capability.marketplace, context=context
        ):
            if connection.integration == job.platform:
                return issubclass(context.registry.get(connection.integration), ClientMessaging)
        return False

    async def draft(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID, text: str
    ) -> JobMessage:
        """A reply to the client, kept as a draft: nothing is sent before `approve`."""
        job = await job_service.get(session, principal, job_id=job_id)
        messages = MessageRepository(session)
        message_id = uuid.uuid4()
        row = await messages.create(
            JobMessage(
                id=message_id,
                job_id=job.id,
                user_id=job.user_id,
                direction="out",
                status="draft",
                text=text.strip(),
                external_thread_id=await messages.latest_thread(job.id),
                idempotency_key=f"GF-msg-{message_id.hex[:16]}",
            )
        )
        await audit_service.record(
            session,
            principal.actor,
            action="job.message_drafted",
            target_type="job",
            target_id=job.id,
            data={"message_id": str(row.id)},
        )
        return row

    async def approve(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        job_id: uuid.UUID,
        message_id: uuid.UUID,
    ) -> JobMessage:
        """The user approves a draft (or a failed message, to try again): it is sent in the
        background by `jobs.send_message`, once."""
        job = await job_service.get(session, principal, job_id=job_id)
        row = await MessageRepository(session).locked(message_id)
        if row is None or row.job_id != job.id:
            raise MessageNotFound("No such message on this job")
        if row.direction != "out":
            raise InvalidMessageState("A message from the client cannot be sent")
        if row.status not in APPROVABLE:
            raise InvalidMessageState(
                f"This message is {row.status}: only a draft, or a message that failed to "
                "send, can be approved"
            )
        row.status = "approved"
        row.error = None
        await audit_service.record(
            session,
            principal.actor,
            action="job.message_approved",
            target_type="job",
            target_id=job.id,
            data={"message_id": str(row.id)},
        )
        await enqueue(
            session,
            SEND_TASK,
            user_id=job.user_id,
            dedupe_key=f"{SEND_TASK}:{row.id}:{row.attempts}",
            message_id=str(row.id),
        )
        await session.flush()
        return row

    async def request_sync(
        self, session: AsyncSession, principal: Principal, *, job_id: uuid.UUID
    ) -> Job:
        """Read the job's threads now, in the background (reading twice keeps one row each)."""
        job = await job_service.get(session, principal, job_id=job_id)
        await enqueue(session, SYNC_TASK, user_id=job.user_id, job_id=str(job.id))
        return job


messages = MessageService()


# Reading


async def plan_syncs(context: IntegrationContext) -> int:
    """One read per worked-on job on a platform whose connector reads messages, per period."""
    period = int(utcnow().timestamp() // SYNC_EVERY.total_seconds())
    platforms = {
        spec.slug
        for spec in context.registry.specs()
        if issubclass(context.registry.get(spec.slug), ClientMessaging)
    }
    async with unit_of_work(context.database) as session:
        found = await MessageRepository(session).syncable_jobs(platforms, SYNCED)
        for job_id, user_id in found:
            await enqueue(
                session,
                SYNC_TASK,
                user_id=user_id,
                dedupe_key=f"{SYNC_TASK}:{job_id}:{period}",
                job_id=str(job_id),
            )
    return len(found)


async def sync(context: IntegrationContext, job_id: uuid.UUID) -> int:
    """Read the job's threads and keep the messages not kept yet; how many were new."""
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, job_id)
        if job is None or job.external_project_id is None:
            return 0
        connector = await _messaging_connector(session, context, job)
        if connector is None:
            return 0
        project = job.external_project_id
        last_seen = await MessageRepository(session).last_seen(job_id)
    read: list[ClientMessage] = []
    try:
        async with connector.client:
            for thread in await connector.threads(external_project_id=project):
                newest = last_seen.get(thread.thread_id)
                since = newest - OVERLAP if newest is not None else None
                read += await connector.messages(thread.thread_id, since=since)
    except (Transient, RateLimited, Unavailable) as exc:
        raise MessagesDeferred(exc.detail) from exc
    except IntegrationError as exc:
        logger.warning("reading job messages failed", job=str(job_id), reason=exc.detail)
        return 0
    return await _keep(context, job_id, read)


async def _keep(context: IntegrationContext, job_id: uuid.UUID, read: list[ClientMessage]) -> int:
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, job_id)
        if job is None:
            return 0
        repository = MessageRepository(session)
        known = await repository.external_ids(job_id)
        made = 0
        for message in read:
            if message.message_id in known:
                continue
            if not message.from_client and message.sender_id is None:
                continue
            text = message.text or ", ".join(message.attachments) or "(an empty message)"
            row = await repository.create(
                JobMessage(
                    job_id=job.id,
                    user_id=job.user_id,
                    direction="in" if message.from_client else "out",
                    status="received" if message.from_client else "sent",
                    text=text,
                    external_thread_id=message.thread_id,
                    external_id=message.message_id,
                    sent_at=message.sent_at or utcnow(),
                )
            )
            known.add(message.message_id)
            made += 1
            if message.from_client:
                await publish(
                    session,
                    JobMessageReceived(job_id=job.id, message_id=row.id, platform=job.platform),
                    user_id=job.user_id,
                )
        return made


# Sending


async def send(
    context: IntegrationContext, message_id: uuid.UUID, *, lease: timedelta
) -> str | None:
    """Claim, call, record: the message's final status, or None when there is nothing to do
    (sent already, not approved, another run holds it)."""
    claimed = await _claim(context, message_id, lease)
    if claimed is None:
        return None
    if claimed.connector is None:
        return await _record(context, claimed, hand_off=True)
    try:
        async with claimed.connector.client:
            sent = await claimed.connector.send_message(
                OutgoingMessage(
                    thread_id=claimed.thread_id,
                    external_project_id=claimed.project,
                    text=claimed.text,
                    idempotency_key=claimed.idempotency_key,
                )
            )
    except NotSupported:
        return await _record(context, claimed, hand_off=True)
    except (Transient, RateLimited, Unavailable) as exc:
        return await _record(context, claimed, deferred=exc)
    except IntegrationError as exc:
        return await _record(context, claimed, failed=exc)
    return await _record(context, claimed, thread_id=sent.thread_id, external_id=sent.message_id)


async def send_or_retry(
    context: IntegrationContext, message_id: uuid.UUID, *, lease: timedelta
) -> str | None:
    """`send`, raising MessagesDeferred after a deferral was recorded, so the task engine
    tries again after its backoff."""
    status = await send(context, message_id, lease=lease)
    if status == DEFERRED:
        raise MessagesDeferred(f"the platform could not take message {message_id} now")
    return status


async def _claim(
    context: IntegrationContext, message_id: uuid.UUID, lease: timedelta
) -> _Claimed | None:
    now = utcnow()
    async with unit_of_work(context.database) as session:
        taken = await session.execute(
            update(JobMessage)
            .where(
                JobMessage.id == message_id,
                JobMessage.direction == "out",
                or_(
                    JobMessage.status == "approved",
                    and_(JobMessage.status == "sending", JobMessage.claimed_until < now),
                ),
            )
            .values(status="sending", claimed_until=now + lease, attempts=JobMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return None
        row = await session.get(JobMessage, message_id, populate_existing=True)
        assert row is not None
        job = await session.get(Job, row.job_id)
        assert job is not None
        return _Claimed(
            message_id=row.id,
            job_id=job.id,
            user_id=job.user_id,
            attempts=row.attempts,
            text=row.text,
            idempotency_key=row.idempotency_key or f"GF-msg-{row.id.hex[:16]}",
            thread_id=row.external_thread_id,
            project=job.external_project_id,
            hand_off_note=hand_off_note(context, job),
            connector=await _messaging_connector(session, context, job),
        )


async def _record(
    context: IntegrationContext,
    claimed: _Claimed,
    *,
    thread_id: str | None = None,
    external_id: str | None = None,
    hand_off: bool = False,
    deferred: IntegrationError | None = None,
    failed: IntegrationError | None = None,
) -> str | None:
    async with unit_of_work(context.database) as session:
        repository = MessageRepository(session)
        row = await repository.locked(claimed.message_id)
        if row is None or row.status != "sending" or row.attempts != claimed.attempts:
            return None
        row.claimed_until = None
        actor = Actor(user_id=claimed.user_id)
        if deferred is not None and row.attempts < MAX_ATTEMPTS:
            row.status = "approved"
            row.error = deferred.detail[:500]
            logger.warning("message deferred", message=str(row.id), reason=deferred.detail)
            return DEFERRED
        if hand_off or deferred is not None or failed is not None:
            error = failed or deferred
            row.status = "failed"
            row.error = claimed.hand_off_note[:500] if error is None else error.detail[:500]
            await audit_service.record(
                session,
                actor,
                action="job.message_failed",
                target_type="job",
                target_id=claimed.job_id,
                data={"message_id": str(row.id), "hand_off": error is None},
            )
            if error is None:
                await publish(
                    session,
                    JobMessageSent(job_id=claimed.job_id, message_id=row.id, status="handed_off"),
                    user_id=claimed.user_id,
                )
            return row.status
        assert external_id is not None
        read_back = await repository.by_external_id(claimed.job_id, external_id)
        if read_back is not None and read_back.id != row.id:
            # A read of the thread kept the message before this record: one row stays.
            await session.delete(read_back)
            await session.flush()
        row.status = "sent"
        row.error = None
        row.external_id = external_id
        row.external_thread_id = thread_id or row.external_thread_id
        row.sent_at = utcnow()
        await audit_service.record(
            session,
            actor,
            action="job.message_sent",
            target_type="job",
            target_id=claimed.job_id,
            data={"message_id": str(row.id), "external_id": external_id},
        )
        await publish(
            session,
            JobMessageSent(job_id=claimed.job_id, message_id=row.id, status=row.status),
            user_id=claimed.user_id,
        )
        return row.status
