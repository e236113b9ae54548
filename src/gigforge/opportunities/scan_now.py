"""Scan now: a user's job sources scanned in the background of this process, with progress.

The board's "Scan now" button must not hold its request for the length of a scan, so the scan
runs as a task of the process that was asked, and the page polls its progress. Each source is
first claimed through its schedule's lease, exactly as the scheduled worker claims it, so the
worker (embedded or separate) never scans the same source at the same time; the scan's end
releases the lease and sets the next scheduled run, as a scheduled scan does. A source another
scan holds is reported as busy, a failing source by name and reason, and neither stops the rest.

Progress lives in this process's memory, one run per user (the last one is kept to show its
summary). With several API processes behind a balancer, a poll answered by another process
shows no run; the scan itself still completes and its listings appear on the board.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import structlog

from gigforge.accounts.principal import Principal
from gigforge.connections.context import IntegrationContext
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.repository import SourceScheduleRepository
from gigforge.opportunities.scanning import Scanner, ScanReport, scan_interval, sources_of
from gigforge.opportunities.scheduler import LEASE

logger = structlog.get_logger("gigforge.opportunities")

CRASHED = "The scan stopped on an unexpected error; the server log has the details."
BUSY = "Another scan of this source is running; its listings will appear when it ends."


class SourceState(StrEnum):
    waiting = "waiting"
    scanning = "scanning"
    done = "done"
    failed = "failed"
    busy = "busy"


@dataclass
class SourceProgress:
    connection_id: uuid.UUID
    integration: str
    title: str
    name: str
    state: SourceState = SourceState.waiting
    seen: int = 0
    report: ScanReport | None = None
    error: str | None = None


@dataclass
class ScanRun:
    started_at: datetime
    sources: list[SourceProgress] = field(default_factory=list)
    finished_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.finished_at is None

    @property
    def seen(self) -> int:
        return sum(source.seen for source in self.sources)

    @property
    def new(self) -> int:
        return sum(source.report.found for source in self.sources if source.report is not None)

    @property
    def failed(self) -> list[SourceProgress]:
        return [source for source in self.sources if source.state is SourceState.failed]


class ScanRuns:
    """The scan-now runs of one process; `close()` at shutdown stops what is still running."""

    def __init__(self) -> None:
        self._runs: dict[uuid.UUID, ScanRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def current(self, principal: Principal) -> ScanRun | None:
        return self._runs.get(principal.user_id)

    async def start(self, context: IntegrationContext, principal: Principal) -> ScanRun:
        """Start scanning every active job source of the user, unless a run is under way
        (then that run is the answer: pressing the button twice scans once)."""
        existing = self._runs.get(principal.user_id)
        if existing is not None and existing.running:
            return existing
        async with unit_of_work(context.database) as session:
            sources = await sources_of(session, context, principal.user_id, None)
        run = ScanRun(
            started_at=utcnow(),
            sources=[
                SourceProgress(
                    source.id,
                    source.integration,
                    context.spec_for(source.integration).title,
                    source.name,
                )
                for source in sources
            ],
        )
        self._runs[principal.user_id] = run
        if not run.sources:
            run.finished_at = run.started_at
            return run
        task = asyncio.create_task(self._run(context, principal.user_id, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, context: IntegrationContext, user_id: uuid.UUID, run: ScanRun) -> None:
        scanner = Scanner(context)
        try:
            for source in run.sources:
                await self._scan_one(context, scanner, user_id, source)
        finally:
            run.finished_at = utcnow()

    async def _scan_one(
        self,
        context: IntegrationContext,
        scanner: Scanner,
        user_id: uuid.UUID,
        source: SourceProgress,
    ) -> None:
        now = utcnow()
        async with unit_of_work(context.database) as session:
            claimed = await SourceScheduleRepository(session).claim(
                source.connection_id,
                user_id=user_id,
                now=now,
                lease_until=now + LEASE,
                interval_seconds=int(
                    scan_interval(context.spec_for(source.integration)).total_seconds()
                ),
            )
        if not claimed:
            source.state, source.error = SourceState.busy, BUSY
            return
        source.state = SourceState.scanning

        def advance(seen: int) -> None:
            source.seen = seen

        try:
            report = await scanner.scan(source.connection_id, progress=advance)
        except Exception:
            logger.exception("scan now crashed", connection_id=str(source.connection_id))
            source.state, source.error = SourceState.failed, CRASHED
            async with unit_of_work(context.database) as session:
                await SourceScheduleRepository(session).release_after_crash(
                    source.connection_id, now=utcnow()
                )
            return
        source.report, source.seen = report, report.seen
        if report.error:
            source.state, source.error = SourceState.failed, report.error
        else:
            source.state = SourceState.done
