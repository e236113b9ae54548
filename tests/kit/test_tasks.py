"""The task engine: rows written with the change, sent after commit, run once, retried, dead."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.outbox import EventPayload, EventRow, event_type, publish
from gigforge.kit.task_engine import TaskEngine, broker_from_url
from gigforge.kit.tasks import TaskContext, TaskRegistry, TaskRow, TaskState, enqueue, registry

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
REDIS_URL = os.environ.get("GIGFORGE_TEST_REDIS_URL")

runs: list[str] = []


@registry.task("tests.record", backoff=timedelta(0))
async def _record(context: TaskContext, *, label: str) -> None:
    await asyncio.sleep(0)
    runs.append(label)


@registry.task("tests.always_fails", max_attempts=3, backoff=timedelta(0))
async def _always_fails(context: TaskContext, *, label: str) -> None:
    runs.append(label)
    raise RuntimeError(f"boom on attempt {context.attempt} token=sk-secret-do-not-log")


@event_type("tests.thing_changed", summary="A test event", example={"thing_id": "t-1", "value": 1})
class ThingChanged(EventPayload):
    thing_id: str
    value: int


class Refused(Exception):
    pass


@pytest.fixture(autouse=True)
def _no_runs_yet() -> None:
    runs.clear()


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[TaskEngine]:
    engine = TaskEngine(database, registry)
    await engine.start(consume=True)
    yield engine
    await engine.stop()


async def _rows(database: Database) -> list[TaskRow]:
    async with unit_of_work(database) as session:
        return list((await session.execute(select(TaskRow).order_by(TaskRow.id))).scalars())


async def test_a_task_enqueued_in_a_committed_unit_of_work_runs_once_and_is_done(
    database: Database, engine: TaskEngine
) -> None:
    async with unit_of_work(database) as session:
        await enqueue(session, "tests.record", label="one")
        assert runs == []  # nothing is sent before the commit
    await engine.drain()
    assert runs == ["one"]
    [row] = await _rows(database)
    assert row.state is TaskState.done
    assert row.attempts == 1
    assert row.finished_at is not None


async def test_a_task_enqueued_in_a_unit_of_work_that_rolls_back_never_exists(
    database: Database, engine: TaskEngine
) -> None:
    async def enqueue_then_fail() -> None:
        async with unit_of_work(database) as session:
            await enqueue(session, "tests.record", label="never")
            raise Refused

    with pytest.raises(Refused):
        await enqueue_then_fail()
    await engine.drain()
    assert runs == []
    assert await _rows(database) == []


async def test_a_change_and_its_event_commit_together_or_not_at_all(database: Database) -> None:
    async def publish_then_fail() -> None:
        async with unit_of_work(database) as session:
            await publish(session, ThingChanged(thing_id="a", value=1), user_id=None)
            raise Refused

    with pytest.raises(Refused):
        await publish_then_fail()
    async with unit_of_work(database) as session:
        await publish(session, ThingChanged(thing_id="b", value=2), user_id=None)
    async with unit_of_work(database) as session:
        rows = (await session.execute(select(EventRow))).scalars().all()
    assert [(row.type, row.payload) for row in rows] == [
        ("tests.thing_changed", {"thing_id": "b", "value": 2})
    ]


async def test_a_duplicate_message_runs_the_task_once(
    database: Database, engine: TaskEngine
) -> None:
    async with unit_of_work(database) as session:
        task_id = await enqueue(session, "tests.record", label="dup")
    assert task_id is not None
    await engine.drain()
    outcomes = await asyncio.gather(*(engine.run(task_id) for _ in range(5)))
    assert runs == ["dup"]
    assert outcomes == [None] * 5


async def test_a_task_whose_message_was_lost_is_sent_again_by_the_sweeper(
    database: Database,
) -> None:
    async with unit_of_work(database) as session:  # no engine running: the message is lost
        await enqueue(session, "tests.record", label="lost")
    engine = TaskEngine(database, registry, redispatch_after=timedelta(0))
    await engine.start(consume=True)
    try:
        await engine.drain()
    finally:
        await engine.stop()
    assert runs == ["lost"]


async def test_a_task_held_by_a_dead_worker_runs_again_when_its_lease_runs_out(
    database: Database, engine: TaskEngine
) -> None:
    async with unit_of_work(database) as session:
        task_id = await enqueue(
            session, "tests.record", label="orphan", due_at=utcnow() + timedelta(days=1)
        )
        await session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id)
            .values(
                state=TaskState.running,
                attempts=1,
                claimed_by="dead-host:1",
                claimed_until=utcnow() - timedelta(seconds=1),
            )
        )
    await engine.drain()
    assert runs == ["orphan"]
    [row] = await _rows(database)
    assert (row.state, row.attempts) == (TaskState.done, 2)


async def test_a_task_that_always_fails_is_dead_after_its_attempts_with_its_last_error(
    database: Database, engine: TaskEngine
) -> None:
    async with unit_of_work(database) as session:
        await enqueue(session, "tests.always_fails", label="x")
    await engine.drain()
    assert runs == ["x", "x", "x"]
    [row] = await _rows(database)
    assert row.state is TaskState.dead
    assert row.attempts == 3
    assert row.last_error is not None
    assert "boom on attempt 3" in row.last_error
    assert "sk-secret-do-not-log" not in row.last_error


async def test_enqueue_with_a_dedupe_key_adds_one_row(database: Database) -> None:
    async with unit_of_work(database) as session:
        first = await enqueue(session, "tests.record", label="a", dedupe_key="k")
        second = await enqueue(session, "tests.record", label="b", dedupe_key="k")
    async with unit_of_work(database) as session:
        third = await enqueue(session, "tests.record", label="c", dedupe_key="k")
    assert isinstance(first, uuid.UUID)
    assert (second, third) == (None, None)
    assert len(await _rows(database)) == 1


def test_task_names_read_domain_dot_verb_and_are_declared_once() -> None:
    local = TaskRegistry()

    async def handler(context: TaskContext) -> None:
        return None

    with pytest.raises(ValueError, match=r"domain\.verb"):
        local.task("nodot")(handler)
    local.task("a.b")(handler)
    with pytest.raises(ValueError, match="twice"):
        local.task("a.b")(handler)


def test_an_unknown_broker_scheme_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="amqp://"):
        broker_from_url("kafka://localhost:9092")


@pytest.mark.parametrize(
    "url_env", [pytest.param("amqp", id="rabbitmq"), pytest.param("redis", id="redis")]
)
async def test_tasks_run_once_each_through_a_real_broker(database: Database, url_env: str) -> None:
    url = AMQP_URL if url_env == "amqp" else REDIS_URL
    if not url:
        pytest.skip(f"GIGFORGE_TEST_{url_env.upper()}_URL is not set; needs a running {url_env}")
    queue = f"gigforge.test.{uuid.uuid4().hex[:8]}"
    producer = TaskEngine(database, registry, broker_url=url, queue=queue)
    consumer = TaskEngine(database, registry, broker_url=url, queue=queue, sweep_interval=60)
    await consumer.start(consume=True)
    await producer.start(consume=False)
    try:
        async with unit_of_work(database) as session:
            for number in range(20):
                await enqueue(session, "tests.record", label=str(number))
        await consumer.drain(within=60)
    finally:
        await producer.stop()
        await consumer.stop()
    assert sorted(runs, key=int) == [str(number) for number in range(20)]
    async with unit_of_work(database) as session:
        done = await session.scalar(
            select(func.count()).select_from(TaskRow).where(TaskRow.state == TaskState.done)
        )
    assert done == 20


in_flight: list[int] = [0, 0]  # now, most at once


@registry.task("tests.counted", backoff=timedelta(0))
async def _counted(context: TaskContext, *, label: str) -> None:
    in_flight[0] += 1
    in_flight[1] = max(in_flight)
    await asyncio.sleep(0.02)
    in_flight[0] -= 1
    runs.append(label)


async def test_a_worker_runs_no_more_tasks_at_once_than_its_concurrency(
    database: Database,
) -> None:
    in_flight[:] = [0, 0]
    async with unit_of_work(database) as session:
        task_ids = [await enqueue(session, "tests.counted", label=str(n)) for n in range(12)]
    engine = TaskEngine(database, registry, concurrency=3)
    # One message may carry several ids; the cap holds over all of them.
    await asyncio.gather(*(engine.run(task_id) for task_id in task_ids if task_id))
    assert len(runs) == 12
    assert in_flight[1] == 3


@registry.task("tests.slow", backoff=timedelta(0))
async def _slow(context: TaskContext, *, label: str, seconds: float) -> None:
    await asyncio.sleep(seconds)
    runs.append(label)


def _count_task_updates(database: Database) -> list[str]:
    """Every UPDATE of `tasks` the engine sends from now on, in order."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE TASKS"):
            statements.append(statement)

    sa_event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    return statements


async def test_concurrent_runs_are_claimed_and_recorded_in_shared_statements(
    database: Database,
) -> None:
    async with unit_of_work(database) as session:  # no dispatcher: nothing is sent yet
        task_ids = [await enqueue(session, "tests.record", label=str(n)) for n in range(40)]
    engine = TaskEngine(database, registry, concurrency=40)
    updates = _count_task_updates(database)
    outcomes = await asyncio.gather(*(engine.run(task_id) for task_id in task_ids if task_id))
    assert outcomes == [TaskState.done] * 40
    assert sorted(runs, key=int) == [str(n) for n in range(40)]
    # One claim statement and one outcome statement served all forty, not eighty statements.
    assert len(updates) == 2
    assert {row.state for row in await _rows(database)} == {TaskState.done}


async def test_a_claim_that_fails_fails_every_run_waiting_on_it_and_the_next_claim_works() -> None:
    from gigforge.kit.task_engine import Coalescer

    calls: list[list[int]] = []

    async def flush(keys: Sequence[int]) -> dict[int, str]:
        batch = list(keys)
        calls.append(batch)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return {key: f"row {key}" for key in batch if key != 3}

    coalesce: Coalescer[int, str] = Coalescer(flush, limit=10)
    first = await asyncio.gather(*(coalesce(key) for key in (1, 2)), return_exceptions=True)
    assert [type(outcome) for outcome in first] == [ConnectionError, ConnectionError]
    assert await asyncio.gather(coalesce(3), coalesce(4)) == [None, "row 4"]
    assert calls == [[1, 2], [3, 4]]


async def test_a_long_task_keeps_its_claim_past_the_lease_while_its_worker_lives(
    database: Database,
) -> None:
    async with unit_of_work(database) as session:
        task_id = await enqueue(session, "tests.slow", label="long", seconds=1.2)
    assert task_id is not None
    owner = TaskEngine(database, registry, lease=timedelta(seconds=0.3))
    rival = TaskEngine(database, registry, lease=timedelta(seconds=0.3))
    running = asyncio.create_task(owner.run(task_id))
    await asyncio.sleep(0.8)  # more than two leases: only the heartbeat keeps the claim alive
    assert await rival.run(task_id) is None
    assert await running is TaskState.done
    assert runs == ["long"]
    [row] = await _rows(database)
    assert (row.state, row.attempts) == (TaskState.done, 1)
