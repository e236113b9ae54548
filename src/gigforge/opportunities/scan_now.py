"""Scan now: a user's job sources scanned by the task engine, with progress in the database.

The board's "Scan now" button must not hold its request for the length of a scan. Pressing it
records a scan run (one row, and one row per source) and enqueues, in the same unit of work,
one `opportunities.scan` task per source carrying the run's id. Whichever process runs a task
(the embedded worker, or a `gigforge worker` anywhere) writes that source's progress to its
row in short transactions of its own, never across the call to the source; any process then
renders the run from the database, so a poll answered by another API process, or by a web
process restarted meanwhile, shows the same progress.

Each source is claimed through its schedule's lease when the run starts, exactly as the
scheduled planner claims it, so a scheduled scan and a scan-now never scan the same source at
once: a source another scan holds is reported as busy. A failing source is reported by name
and reason and the others still finish. A run is under way until every source is in a final
state (done, failed or busy); pressing again meanwhile returns that run, so it scans once.
Only a user's last run is kept: starting one deletes the previous.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import ConnectionRef
from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.tasks import enqueue
from gigforge.opportunities.models import (
    FINAL_SCAN_STATES,
    ScanRun,
    ScanRunSource,
    ScanSourceState,
)
from gigforge.opportunities.repository import ScanRunRepository, SourceScheduleRepository
from gigforge.opportunities.scanning import ScanReport, scan_interval, sources_of
from gigforge.opportunities.scheduler import LEASE, SCAN_TASK

logger = structlog.get_logger("gigforge.opportunities")

CRASHED = "The scan stopped on an unexpected error; the server log has the details."
BUSY = "Another scan of this source is running; its listings will appear when it ends."
STALLED = "The scan of this source stopped answering; press Scan now to try again."
#: A source whose task wrote nothing for this long is shown as failed: its claim on the source
#: has run out too (the schedule's LEASE), so a new run may take it. A running scan writes its
#: progress after every batch, far more often than this.
STALE_AFTER = LEASE
_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SourceReport:
    """What a finished scan of one source stored."""

    found: int
    updated: int
    duplicates: int
    skipped: int

    @property
    def seen(self) -> int:
        return self.found + self.updated + self.duplicates + self.skipped


@dataclass(frozen=True)
class SourceProgress:
    connection_id: uuid.UUID
    integration: str
    title: str
    name: str
    state: ScanSourceState
    seen: int
    report: SourceReport | None
    error: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class ScanProgress:
    """One scan run as the status fragment shows it, read from the database."""

    id: uuid.UUID
    started_at: datetime
    sources: Sequence[SourceProgress]

    @property
    def running(self) -> bool:
        return any(source.state not in FINAL_SCAN_STATES for source in self.sources)

    @property
    def finished_at(self) -> datetime | None:
        """When its last source ended; None while any source is still waiting or scanning."""
        if self.running:
            return None
        return max(
            (source.finished_at or self.started_at for source in self.sources),
            default=self.started_at,
        )

    @property
    def seen(self) -> int:
        return sum(source.seen for source in self.sources)

    @property
    def new(self) -> int:
        return sum(source.report.found for source in self.sources if source.report is not None)

    @property
    def failed(self) -> list[SourceProgress]:
        return [source for source in self.sources if source.state is ScanSourceState.failed]


def _progress(row: ScanRunSource, *, now: datetime) -> SourceProgress:
    state, error, finished_at = row.state, row.error, row.finished_at
    if state not in FINAL_SCAN_STATES and row.updated_at < now - STALE_AFTER:
        state, error, finished_at = ScanSourceState.failed, STALLED, row.updated_at
    report = (
        SourceReport(row.found, row.updated, row.duplicates, row.skipped)
        if state in (ScanSourceState.done, ScanSourceState.failed)
        else None
    )
    return SourceProgress(
        connection_id=row.connection_id,
        integration=row.integration,
        title=row.title,
        name=row.name,
        state=state,
        seen=row.seen,
        report=report,
        error=error,
        finished_at=finished_at,
    )


class ScanNowService:
    """Starting a user's scan run and reading its progress; flushes, never commits."""

    async def current(self, session: AsyncSession, principal: Principal) -> ScanProgress | None:
        """The user's last run, under way or finished, or None before their first."""
        runs = ScanRunRepository(session)
        run = await runs.for_user(principal.user_id)
        if run is None:
            return None
        return await self._read(runs, run)

    async def start(
        self, session: AsyncSession, principal: Principal, *, context: IntegrationContext
    ) -> ScanProgress:
        """Start scanning every active job source of the user, unless a run is under way
        (then that run is the answer: pressing the button twice scans once). The scan tasks
        are enqueued in the caller's unit of work and sent once it commits."""
        runs = ScanRunRepository(session)
        current = await self.current(session, principal)
        if current is not None and current.running:
            return current
        sources = await sources_of(session, context, principal.user_id, None)
        now = utcnow()
        if current is not None:
            # Only the finished run just read: a run another press started meanwhile stays.
            await runs.delete_run(current.id)
        run = ScanRun(id=uuid.uuid4(), user_id=principal.user_id, started_at=now)
        try:
            # The run, its sources, their claims and tasks are written together or not at
            # all. One run per user (a unique key): of two presses at once in two processes,
            # the second finds the first's run on inserting its own, and answers with it.
            async with session.begin_nested():
                session.add(run)
                await session.flush()
                await self._claim_and_enqueue(session, principal, context, run, sources, now)
        except IntegrityError:
            winner = await self.current(session, principal)
            if winner is None:
                raise
            return winner
        return await self._read(runs, run)

    @staticmethod
    async def _claim_and_enqueue(
        session: AsyncSession,
        principal: Principal,
        context: IntegrationContext,
        run: ScanRun,
        sources: Sequence[ConnectionRef],
        now: datetime,
    ) -> None:
        schedules = SourceScheduleRepository(session)
        for position, source in enumerate(sources):
            spec = context.spec_for(source.integration)
            claimed = await schedules.claim(
                source.id,
                user_id=principal.user_id,
                now=now,
                lease_until=now + LEASE,
                interval_seconds=int(scan_interval(spec).total_seconds()),
            )
            session.add(
                ScanRunSource(
                    run_id=run.id,
                    connection_id=source.id,
                    position=position,
                    integration=source.integration,
                    title=spec.title[:100],
                    name=source.name,
                    state=ScanSourceState.waiting if claimed else ScanSourceState.busy,
                    error=None if claimed else BUSY,
                    updated_at=now,
                    finished_at=None if claimed else now,
                )
            )
            if claimed:
                await enqueue(
                    session,
                    SCAN_TASK,
                    user_id=principal.user_id,
                    dedupe_key=f"{SCAN_TASK}:{source.id}:run:{run.id}",
                    connection_id=str(source.id),
                    run_id=str(run.id),
                )
        await session.flush()

    @staticmethod
    async def _read(runs: ScanRunRepository, run: ScanRun) -> ScanProgress:
        now = utcnow()
        return ScanProgress(
            id=run.id,
            started_at=run.started_at,
            sources=[_progress(row, now=now) for row in await runs.sources(run.id)],
        )


scan_now = ScanNowService()


class RunProgress:
    """The progress a scan task writes for its source of a run, one short transaction each."""

    def __init__(self, database: Database, run_id: uuid.UUID, connection_id: uuid.UUID) -> None:
        self.database = database
        self.run_id = run_id
        self.connection_id = connection_id

    async def begin(self) -> bool:
        """Mark the source as scanning; False when it already ended (this task ran before
        and finished: a duplicate run has nothing to do)."""
        async with unit_of_work(self.database) as session:
            runs = ScanRunRepository(session)
            row = await runs.source(self.run_id, self.connection_id)
            if row is not None and row.state in FINAL_SCAN_STATES:
                return False
            await runs.update_source(
                self.run_id,
                self.connection_id,
                unless=FINAL_SCAN_STATES,
                state=ScanSourceState.scanning,
                updated_at=utcnow(),
            )
        return True

    async def advance(self, seen: int) -> None:
        async with unit_of_work(self.database) as session:
            await ScanRunRepository(session).update_source(
                self.run_id,
                self.connection_id,
                unless=FINAL_SCAN_STATES,
                seen=seen,
                updated_at=utcnow(),
            )

    async def finished(self, report: ScanReport) -> None:
        """A failing source keeps what it stored before it failed, with its reason."""
        now = utcnow()
        async with unit_of_work(self.database) as session:
            await ScanRunRepository(session).update_source(
                self.run_id,
                self.connection_id,
                unless=FINAL_SCAN_STATES,
                state=ScanSourceState.failed if report.error else ScanSourceState.done,
                error=report.error[:_ERROR_LENGTH] if report.error else None,
                seen=report.seen,
                found=report.found,
                updated=report.updated,
                duplicates=report.duplicates,
                skipped=report.skipped,
                updated_at=now,
                finished_at=now,
            )

    async def crashed(self) -> None:
        """The scan raised: the source is failed (the reason stays in the log) and its
        schedule's claim is given back, as a scheduled scan's crash does."""
        now = utcnow()
        async with unit_of_work(self.database) as session:
            await ScanRunRepository(session).update_source(
                self.run_id,
                self.connection_id,
                unless=FINAL_SCAN_STATES,
                state=ScanSourceState.failed,
                error=CRASHED,
                updated_at=now,
                finished_at=now,
            )
            await SourceScheduleRepository(session).release_after_crash(self.connection_id, now=now)
