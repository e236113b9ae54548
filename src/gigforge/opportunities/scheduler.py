"""The scan schedule: which sources are due, each planned as one `opportunities.scan` task.

The scheduler (`kit.schedules`, one leader across processes) enqueues `opportunities.plan_scans`
every PLAN_EVERY. A plan gives every scannable connection a schedule row, claims the rows that
are due (`claimed_until`, so a second plan cannot take them) and enqueues a scan task for each
in the same transaction. The scan's end (`Scanner._finish`) sets the next run and releases the
claim; a scan that dies is run again by the task engine, and a claim whose scan is dead runs
out after LEASE, so the source comes back on its own.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import connections as connection_service
from gigforge.kit.clock import utcnow
from gigforge.kit.tasks import enqueue
from gigforge.opportunities.models import SourceSchedule
from gigforge.opportunities.repository import SourceScheduleRepository
from gigforge.opportunities.scanning import SCANNED_CAPABILITIES, scan_interval

SCAN_TASK = "opportunities.scan"
PLAN_TASK = "opportunities.plan_scans"
PLAN_EVERY = timedelta(seconds=30)
# A scan's task renews its own lease while it runs; this one only keeps a second plan from
# enqueueing the same source meanwhile, and gives a source back whose scan died for good.
LEASE = timedelta(hours=1)


async def sync_schedules(session: AsyncSession, context: IntegrationContext) -> int:
    """Give every scannable connection a schedule row; new ones are due at once."""
    scannable = {
        spec.slug
        for capability in SCANNED_CAPABILITIES
        for spec in context.registry.with_capability(capability)
    }
    active = await connection_service.active_of(session, scannable)
    known = await SourceScheduleRepository(session).known([source.id for source in active])
    missing = [source for source in active if source.id not in known]
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


async def plan_scans(
    session: AsyncSession, context: IntegrationContext, *, limit: int = 50
) -> list[uuid.UUID]:
    """Enqueue a scan for each source that is due; returns their connections."""
    await sync_schedules(session, context)
    now = utcnow()
    claimed = await SourceScheduleRepository(session).claim_due(
        now=now, lease_until=now + LEASE, limit=limit
    )
    for schedule in claimed:
        await enqueue(
            session,
            SCAN_TASK,
            user_id=schedule.user_id,
            dedupe_key=f"{SCAN_TASK}:{schedule.connection_id}:{now.isoformat()}",
            connection_id=str(schedule.connection_id),
        )
    return [schedule.connection_id for schedule in claimed]
