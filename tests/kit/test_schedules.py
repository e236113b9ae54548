"""Periodic work runs once per period across schedulers, leaders and restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.schedules import Schedule, Scheduler, ScheduleRun, acquire_lease
from gigforge.kit.tasks import TaskContext, TaskRow, registry

EVERY = timedelta(minutes=5)
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


@registry.task("tests.periodic")
async def _periodic(context: TaskContext) -> None:
    return None


SCHEDULES = [Schedule(name="tests.periodic", every=EVERY, task="tests.periodic")]


async def _count(database: Database, table: type[TaskRow] | type[ScheduleRun]) -> int:
    async with unit_of_work(database) as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_two_schedulers_over_three_periods_give_three_runs(database: Database) -> None:
    first = Scheduler(database, SCHEDULES, holder="host-a:1")
    second = Scheduler(database, SCHEDULES, holder="host-b:2")
    for period in range(3):
        for offset in (timedelta(seconds=1), timedelta(minutes=2), timedelta(minutes=4)):
            now = START + period * EVERY + offset
            await first.tick(now)
            await second.tick(now)
    assert await _count(database, ScheduleRun) == 3
    assert await _count(database, TaskRow) == 3


async def test_a_new_leader_in_the_same_period_does_not_run_it_again(database: Database) -> None:
    """Two leaders in turn (a lease that ran out, a restart mid-period): still one run."""
    short = timedelta(0)
    first = Scheduler(database, SCHEDULES, holder="host-a:1", lease_ttl=short)
    restarted = Scheduler(database, SCHEDULES, holder="host-a:2", lease_ttl=short)
    now = START + timedelta(seconds=30)
    assert await first.tick(now) == 1
    assert await restarted.tick(now + timedelta(seconds=10)) == 0
    assert await restarted.tick(now + EVERY) == 1
    assert await _count(database, TaskRow) == 2


async def test_the_leader_lease_has_one_holder_until_it_runs_out(database: Database) -> None:
    async with unit_of_work(database) as session:
        assert await acquire_lease(session, "l", holder="a", ttl=timedelta(minutes=1))
        assert await acquire_lease(session, "l", holder="a", ttl=timedelta(minutes=1))
        assert not await acquire_lease(session, "l", holder="b", ttl=timedelta(minutes=1))
        assert await acquire_lease(session, "other", holder="b", ttl=timedelta(minutes=1))


def test_periods_are_aligned_to_the_epoch() -> None:
    schedule = SCHEDULES[0]
    assert schedule.period_start(START + timedelta(minutes=7)) == START + EVERY
