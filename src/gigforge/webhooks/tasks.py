"""Background work of the webhooks domain: fan-out, delivery, and the safety-net sweep."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import STREAM_CONSUMERS
from gigforge.kit.tasks import TaskContext, enqueue, task
from gigforge.webhooks.delivery import (
    DELIVER_TASK,
    FAN_OUT_TASK,
    SWEEP_TASK,
    Deliverer,
    fan_out,
    schedule_next,
)
from gigforge.webhooks.repository import EndpointRepository
from gigforge.webhooks.sending import WebhookSender

#: `session.info` key: the transaction that already queued a fan-out.
_FAN_OUT_QUEUED = "gigforge.webhooks.fan_out_queued"


@task(FAN_OUT_TASK, max_attempts=10, backoff=timedelta(seconds=2))
async def fan_out_events(context: TaskContext) -> None:
    """Turn new events into deliveries; queues a delivery run when it wrote any."""
    await fan_out(context.database)


@task(DELIVER_TASK, max_attempts=10, backoff=timedelta(seconds=2))
async def deliver(context: TaskContext) -> None:
    """Send every due delivery in batches; safe to run twice (claims are leased rows)."""
    deliverer = Deliverer(
        context.database,
        context.get(WebhookSender),
        context.get(IntegrationContext).keyring,
        lease=context.lease,
    )
    await deliverer.deliver()


@task(SWEEP_TASK, max_attempts=3, backoff=timedelta(seconds=5))
async def sweep(context: TaskContext) -> None:
    """Every few seconds: fan out what a lost trigger left, and queue due deliveries."""
    await fan_out(context.database)
    async with unit_of_work(context.database) as session:
        await schedule_next(session)


async def queue_fan_out(session: AsyncSession, user_ids: set[uuid.UUID | None]) -> None:
    """Called in every publishing unit of work: queue one fan-out for the transaction when
    one of its users has an enabled endpoint."""
    transaction = session.sync_session.get_transaction()
    if session.info.get(_FAN_OUT_QUEUED) is transaction:
        return
    users = [user_id for user_id in user_ids if user_id is not None]
    if not users:
        return
    if not await EndpointRepository(session).any_enabled_for(users):
        return
    session.info[_FAN_OUT_QUEUED] = transaction
    await enqueue(session, FAN_OUT_TASK)


if queue_fan_out not in STREAM_CONSUMERS:
    STREAM_CONSUMERS.append(queue_fan_out)
