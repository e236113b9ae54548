"""Periodic work: one run per period, whatever the number of processes and restarts.

One scheduler at a time holds the leader lease (a row in `leases`), and every run of a period is
recorded in `schedule_runs` under a unique (schedule, period) key in the same transaction that
enqueues its task. A second leader (a lease that ran out during a pause, a restart in the middle
of a period) finds the key taken and enqueues nothing, which is the guard taskiq's own scheduler
lacks after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import String, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, Database, unit_of_work
from gigforge.kit.tasks import enqueue

logger = structlog.get_logger("gigforge.schedules")

LEADER_LEASE = "scheduler"


class Lease(Base):
    """A named lease: who holds it, until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column()


class ScheduleRun(Base):
    __tablename__ = "schedule_runs"

    schedule: Mapped[str] = mapped_column(String(100), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Schedule:
    """Enqueue task `task` (with `args`) once every `every`, aligned to the Unix epoch."""

    name: str
    every: timedelta
    task: str
    args: dict[str, Any] = field(default_factory=dict)

    def period_start(self, now: datetime) -> datetime:
        step = self.every.total_seconds()
        epoch = datetime.fromtimestamp(0, tz=now.tzinfo)
        return epoch + timedelta(seconds=(now - epoch).total_seconds() // step * step)


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def acquire_lease(session: AsyncSession, name: str, *, holder: str, ttl: timedelta) -> bool:
    """Take or renew lease `name` for `holder`; False while someone else holds it."""
    now = utcnow()
    taken = await session.execute(
        _insert(session)(Lease)
        .values(name=name, holder=holder, expires_at=now + ttl)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    if getattr(taken, "rowcount", 0) == 1:
        return True
    renewed = await session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return getattr(renewed, "rowcount", 0) == 1


async def run_period(session: AsyncSession, schedule: Schedule, now: datetime) -> bool:
    """Enqueue this period's run unless it already exists; True when this call enqueued it."""
    period = schedule.period_start(now)
    recorded = await session.execute(
        _insert(session)(ScheduleRun)
        .values(schedule=schedule.name, period_start=period, created_at=now)
        .on_conflict_do_nothing(index_elements=["schedule", "period_start"])
    )
    if getattr(recorded, "rowcount", 0) != 1:
        return False
    await enqueue(session, schedule.task, **schedule.args)
    return True


class Scheduler:
    """Ticks while it holds the leader lease; anyone may run one, one of them leads."""

    def __init__(
        self,
        database: Database,
        schedules: list[Schedule],
        *,
        holder: str,
        tick: float = 1.0,
        lease_ttl: timedelta = timedelta(seconds=15),
    ) -> None:
        self.database = database
        self.schedules = schedules
        self.holder = holder
        self.tick_seconds = tick
        self.lease_ttl = lease_ttl
        self._loop: asyncio.Task[None] | None = None

    async def tick(self, now: datetime | None = None) -> int:
        """One pass: if leader, enqueue every schedule whose current period has no run yet."""
        now = now or utcnow()
        async with unit_of_work(self.database) as session:
            if not await acquire_lease(
                session, LEADER_LEASE, holder=self.holder, ttl=self.lease_ttl
            ):
                return 0
        started = 0
        for schedule in self.schedules:
            async with unit_of_work(self.database) as session:
                started += await run_period(session, schedule, now)
        return started

    async def _forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                logger.exception("scheduler tick failed")
            await asyncio.sleep(self.tick_seconds)

    def start(self) -> None:
        self._loop = asyncio.create_task(self._forever())

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        async with unit_of_work(self.database) as session:
            await session.execute(
                update(Lease)
                .where(Lease.name == LEADER_LEASE, Lease.holder == self.holder)
                .values(expires_at=utcnow())
                .execution_options(synchronize_session=False)
            )


__all__ = ["Lease", "Schedule", "ScheduleRun", "Scheduler", "acquire_lease", "run_period"]
