"""Background work of the proposals domain."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gigforge.connections.context import IntegrationContext
from gigforge.kit.tasks import TaskContext, task
from gigforge.proposals.submission import SUBMIT_TASK, submit


@task(SUBMIT_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def submit_proposal(context: TaskContext, *, proposal_id: str) -> None:
    """Submit one approved proposal; safe to run twice (the claim and the idempotency key)."""
    await submit(context.get(IntegrationContext), uuid.UUID(proposal_id), lease=context.lease)
