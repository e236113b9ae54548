"""Background work of the opportunities domain: planning scans and running them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from gigforge.connections.context import IntegrationContext
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskContext, task
from gigforge.opportunities.scan_now import RunProgress
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
async def scan(context: TaskContext, *, connection_id: str, run_id: str | None = None) -> None:
    """Scan one source. A source that answers with an error is recorded on its schedule (and
    scanned again at its next run), not retried here; a crash is retried by the engine. Safe
    to run twice: listings are upserted by their external id.

    With `run_id` (a "Scan now"), the source's progress in that run is written as the scan
    goes, each step in a short transaction of its own; a crash fails the source in the run
    and gives its schedule back rather than being retried, as the user sees it failed."""
    source = uuid.UUID(connection_id)
    scanner = Scanner(context.get(IntegrationContext))
    if run_id is None:
        report = await scanner.scan(source)
    else:
        progress = RunProgress(context.database, uuid.UUID(run_id), source)
        if not await progress.begin():
            return
        try:
            report = await scanner.scan(source, progress=progress.advance)
        except Exception:
            logger.exception("scan now crashed", connection_id=connection_id, run_id=run_id)
            await progress.crashed()
            return
        await progress.finished(report)
    logger.info(
        "scan finished",
        integration=report.integration,
        found=report.found,
        updated=report.updated,
        duplicates=report.duplicates,
        skipped=report.skipped,
        error=report.error,
    )
