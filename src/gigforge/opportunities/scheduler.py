"""The scan schedule: which sources are due, claimed by one worker at a time.

Claims are leases in the database (`claimed_until`), so any number of worker processes can
share the work, and a worker that dies gives its sources back when the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection, ConnectionStatus
from gigforge.db import unit_of_work
from gigforge.kit.clock import utcnow
from gigforge.opportunities.models import SourceSchedule
from gigforge.opportunities.repository import SourceScheduleRepository
from gigforge.opportunities.scanning import SCANNED_CAPABILITIES, Scanner, ScanReport, scan_interval
from gigforge.proposals.submission import submit_due

logger = structlog.get_logger("gigforge.worker")

LEASE = timedelta(minutes=10)
POLL_SECONDS = 5.0


async def sync_schedules(session: AsyncSession, context: IntegrationContext) -> int:
    """Give every scannable connection a schedule row; new ones are due at once."""
    scannable = {
        spec.slug
        for capability in SCANNED_CAPABILITIES
        for spec in context.registry.with_capability(capability)
    }
    missing = (
        (
            await session.execute(
                select(Connection)
                .outerjoin(SourceSchedule, SourceSchedule.connection_id == Connection.id)
                .where(
                    SourceSchedule.connection_id.is_(None),
                    Connection.status == ConnectionStatus.active,
                    Connection.integration.in_(scannable),
                )
            )
        )
        .scalars()
        .all()
    )
    for connection in missing:
        session.add(
            SourceSchedule(
                connection_id=connection.id,
                user_id=connection.user_id,
                interval_seconds=int(
                    scan_interval(context.spec_for(connection.integration)).total_seconds()
                ),
                next_run_at=utcnow(),
            )
        )
    await session.flush()
    return len(missing)


async def run_due(context: IntegrationContext, *, limit: int = 4) -> list[ScanReport]:
    """Scan what is due now, each source by at most one worker; one failure stops none."""
    async with unit_of_work(context.database) as session:
        await sync_schedules(session, context)
        now = utcnow()
        claimed = await SourceScheduleRepository(session).claim_due(
            now=now, lease_until=now + LEASE, limit=limit
        )
        due = [schedule.connection_id for schedule in claimed]
    scanner = Scanner(context)
    reports: list[ScanReport] = []
    for connection_id in due:
        try:
            reports.append(await scanner.scan(connection_id))
        except Exception:
            logger.exception("scan crashed", connection_id=str(connection_id))
            async with unit_of_work(context.database) as session:
                schedule = await session.get(SourceSchedule, connection_id)
                if schedule is not None:
                    schedule.claimed_until = None
                    schedule.last_error = "the scan crashed; see the worker log"
                    schedule.next_run_at = utcnow() + timedelta(seconds=schedule.interval_seconds)
    return reports


async def work_once(context: IntegrationContext) -> list[ScanReport]:
    """One tick of the worker: submit approved proposals first, then scan due sources."""
    await submit_due(context)
    reports = await run_due(context)
    for report in reports:
        logger.info(
            "scan finished",
            integration=report.integration,
            found=report.found,
            updated=report.updated,
            duplicates=report.duplicates,
            skipped=report.skipped,
            error=report.error,
        )
    return reports


async def work_forever(context: IntegrationContext, stop: asyncio.Event) -> None:
    """The worker loop: `gigforge worker`, or inside `gigforge serve` when embedded."""
    logger.info("worker started")
    while not stop.is_set():
        try:
            await work_once(context)
        except Exception:
            logger.exception("worker tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
    logger.info("worker stopped")
