"""Background work of the opportunities domain: planning scans and running them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from gigforge.connections.context import IntegrationContext
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskContext, task
from gigforge.opportunities.scanning import Scanner
from gigforge.opportunities.scheduler import PLAN_TASK, SCAN_TASK, plan_scans

logger = structlog.get_logger("gigforge.opportunities")


@task(PLAN_TASK, max_attempts=3, backoff=timedelta(seconds=5))
async def plan(context: TaskContext) -> None:
    """Enqueue a scan for every source that is due (run by the scheduler)."""
    integrations = context.get(IntegrationContext)
    async with unit_of_work(context.database) as session:
        await plan_scans(session, integrations)


@task(SCAN_TASK, max_attempts=3, backoff=timedelta(minutes=1))
async def scan(context: TaskContext, *, connection_id: str) -> None:
    """Scan one source. A source that answers with an error is recorded on its schedule (and
    scanned again at its next run), not retried here; a crash is retried by the engine. Safe
    to run twice: listings are upserted by their external id."""
    report = await Scanner(context.get(IntegrationContext)).scan(uuid.UUID(connection_id))
    logger.info(
        "scan finished",
        integration=report.integration,
        found=report.found,
        updated=report.updated,
        duplicates=report.duplicates,
        skipped=report.skipped,
        error=report.error,
    )
