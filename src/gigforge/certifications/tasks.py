"""Background work of the certifications domain."""

from __future__ import annotations

from datetime import timedelta

import structlog

from gigforge.certifications.service import certifications as certification_service
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskContext, task

EXPIRE_TASK = "certifications.expire"
EXPIRE_EVERY = timedelta(minutes=15)

logger = structlog.get_logger("gigforge.certifications")


@task(EXPIRE_TASK, max_attempts=5, backoff=timedelta(minutes=1))
async def expire_certifications(context: TaskContext) -> None:
    """Close timed-out attempts and publish `certification.expired` once per lapsed level;
    safe to run twice (each expiry is recorded before its event, under a guard)."""
    async with unit_of_work(context.database) as session:
        closed, expired = await certification_service.expire_due(session)
    if closed or expired:
        logger.info("certifications.expired", attempts_closed=closed, certifications=expired)
