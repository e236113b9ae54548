"""Background work of the jobs domain: agent runs, award acceptance, delivery, award checks,
and reading and sending client messages."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gigforge.ai.router import Router
from gigforge.connections.context import IntegrationContext
from gigforge.jobs import awards, messages
from gigforge.jobs.delivery import deliver_or_retry
from gigforge.jobs.running import run_task as run_agent_task
from gigforge.jobs.service import ACCEPT_TASK, DELIVER_TASK, RUN_TASK
from gigforge.kit.tasks import TaskContext, task
from gigforge.storage import Storage


@task(RUN_TASK, max_attempts=5, backoff=timedelta(seconds=20))
async def run_task(context: TaskContext, *, task_id: str, version: int) -> None:
    """One round of an agent task through the quality gate; safe to run twice (the claim,
    the round's fixed version and the deliverables' unique key)."""
    await run_agent_task(
        context.get(IntegrationContext),
        context.get(Router),
        context.get(Storage),
        uuid.UUID(task_id),
        version=version,
        lease=context.lease,
    )


@task(DELIVER_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def deliver(context: TaskContext, *, job_id: str, revision: int) -> None:
    """Deliver one approved round; safe to run twice (the claim and the reference)."""
    await deliver_or_retry(
        context.get(IntegrationContext),
        context.get(Storage),
        uuid.UUID(job_id),
        revision=revision,
        lease=context.lease,
    )


@task(ACCEPT_TASK, max_attempts=6, backoff=timedelta(seconds=30))
async def accept_award(context: TaskContext, *, job_id: str) -> None:
    """Accept the award the user confirmed through the platform's API; start the job."""
    await awards.accept(context.get(IntegrationContext), uuid.UUID(job_id))


@task(awards.PLAN_TASK, max_attempts=1)
async def plan_award_checks(context: TaskContext) -> None:
    """One award check per connection that reads awards (run by the scheduler)."""
    await awards.plan_checks(context.get(IntegrationContext))


@task(awards.CHECK_TASK, max_attempts=3, backoff=timedelta(minutes=1))
async def check_awards(context: TaskContext, *, connection_id: str) -> None:
    """Read one connection's awards; each won proposal becomes a job, once."""
    await awards.check(context.get(IntegrationContext), uuid.UUID(connection_id))


@task(messages.SYNC_TASK, max_attempts=3, backoff=timedelta(minutes=1))
async def sync_messages(context: TaskContext, *, job_id: str) -> None:
    """Read the job's client threads; safe to run twice (messages are unique per job)."""
    await messages.sync(context.get(IntegrationContext), uuid.UUID(job_id))


@task(messages.SEND_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def send_message(context: TaskContext, *, message_id: str) -> None:
    """Send one approved reply; safe to run twice (the claim, and the connector's
    reconciliation by content)."""
    await messages.send_or_retry(
        context.get(IntegrationContext), uuid.UUID(message_id), lease=context.lease
    )


@task(messages.PLAN_TASK, max_attempts=1)
async def plan_message_syncs(context: TaskContext) -> None:
    """One read of each worked-on job's client threads (run by the scheduler)."""
    await messages.plan_syncs(context.get(IntegrationContext))
