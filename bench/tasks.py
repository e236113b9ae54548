"""Tasks per second end to end, and pickup latency, for the in-process broker and RabbitMQ.

End to end means what a domain pays: the task row enqueued in a unit of work that commits, the
message sent after the commit, the row claimed, the handler run, the outcome committed. The
producer and the consumer are separate processes for RabbitMQ (a `gigforge worker` is another
process); the in-process broker runs both in one, as `gigforge serve` does when embedded.

Pickup latency is the time from the producer's commit to the handler's start, measured on an
idle engine one task at a time. CPU per task is the processor time the producer and the worker
processes spent per task (not PostgreSQL's or RabbitMQ's): unlike tasks per second it does not
move when something else on the machine takes a core.

    python bench/tasks.py [--tasks 2000] [--producers 8] [--pickups 200]

GIGFORGE_BENCH_AMQP_URL names RabbitMQ (default amqp://guest:guest@127.0.0.1:5672/; its row is
skipped when nothing answers there); GIGFORGE_BENCH_POSTGRES_URL runs on PostgreSQL instead of
SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from gigforge.kit.db import Database, create_engine, unit_of_work
from gigforge.kit.task_engine import TaskEngine
from gigforge.kit.tasks import TaskContext, enqueue, registry
from gigforge.migrations import upgrade

STARTED: dict[str, float] = {}


@registry.task("bench.noop")
async def _noop(context: TaskContext, *, sent_at: float) -> None:
    STARTED[str(context.task_id)] = time.perf_counter() - sent_at


def _cpu_seconds(pid: int | None = None) -> float:
    """User plus system time of process `pid` (this one by default), from /proc."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 1):
            return True
    except OSError:
        return False


async def _database(url: str) -> Database:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return Database.from_url(url)


async def _produce(database: Database, total: int, producers: int) -> None:
    async def producer(count: int) -> None:
        for _ in range(count):
            async with unit_of_work(database) as session:
                await enqueue(session, "bench.noop", sent_at=0.0)

    share = [total // producers + (1 if i < total % producers else 0) for i in range(producers)]
    await asyncio.gather(*(producer(count) for count in share))


async def _done(database: Database) -> int:
    from sqlalchemy import func, select

    from gigforge.kit.tasks import TaskRow, TaskState

    async with unit_of_work(database) as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(TaskRow).where(TaskRow.state == TaskState.done)
            )
            or 0
        )


async def _clear(database: Database) -> None:
    from sqlalchemy import delete

    from gigforge.kit.tasks import TaskRow

    async with unit_of_work(database) as session:
        await session.execute(delete(TaskRow))


async def _wait_done(database: Database, total: int) -> None:
    while await _done(database) < total:  # noqa: ASYNC110 - polling the database is the point
        await asyncio.sleep(0.01)


async def _pickups(database: Database, engine_started: dict[str, float], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        async with unit_of_work(database) as session:
            task_id = await enqueue(session, "bench.noop", sent_at=time.perf_counter())
        while str(task_id) not in engine_started:  # noqa: ASYNC110 - filled by another task
            await asyncio.sleep(0.0005)
        samples.append(engine_started.pop(str(task_id)))
        await asyncio.sleep(0.01)
    return samples


def _consumer(url: str, broker_url: str, queue: str, ready: object, latencies: object) -> None:
    """A worker process: consume until terminated; report pickup latencies through a queue."""

    async def main() -> None:
        database = Database.from_url(url)
        engine = TaskEngine(database, registry, broker_url=broker_url, queue=queue, concurrency=64)
        await engine.start(consume=True)
        ready.set()  # type: ignore[attr-defined]
        while True:
            await asyncio.sleep(0.002)
            for task_id in list(STARTED):
                latencies.put((task_id, STARTED.pop(task_id)))  # type: ignore[attr-defined]

    asyncio.run(main())


Result = tuple[float, float, list[float]]


async def _bench_in_process(url: str, args: argparse.Namespace) -> Result:
    database = await _database(url)
    engine = TaskEngine(database, registry, concurrency=64)
    await engine.start(consume=True)
    try:
        await _clear(database)
        start, cpu = time.perf_counter(), _cpu_seconds()
        await _produce(database, args.tasks, args.producers)
        await _wait_done(database, args.tasks)
        rate = args.tasks / (time.perf_counter() - start)
        cpu_per_task = (_cpu_seconds() - cpu) / args.tasks
        STARTED.clear()
        samples = await _pickups(database, STARTED, args.pickups)
    finally:
        await engine.stop()
        await database.dispose()
    return rate, cpu_per_task, samples


async def _bench_rabbitmq(url: str, broker_url: str, args: argparse.Namespace) -> Result:
    database = await _database(url)
    await _clear(database)
    queue = f"gigforge.bench.{uuid.uuid4().hex[:8]}"
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    latencies = context.Queue()
    worker = context.Process(target=_consumer, args=(url, broker_url, queue, ready, latencies))
    worker.start()
    producer = TaskEngine(database, registry, broker_url=broker_url, queue=queue)
    await producer.start(consume=False)
    try:
        await asyncio.get_running_loop().run_in_executor(None, ready.wait, 60)
        start, cpu = time.perf_counter(), _cpu_seconds() + _cpu_seconds(worker.pid)
        await _produce(database, args.tasks, args.producers)
        await _wait_done(database, args.tasks)
        rate = args.tasks / (time.perf_counter() - start)
        cpu_per_task = (_cpu_seconds() + _cpu_seconds(worker.pid) - cpu) / args.tasks
        while not latencies.empty():
            latencies.get()
        received: dict[str, float] = {}

        async def collect() -> None:
            while True:
                while not latencies.empty():
                    task_id, latency = latencies.get()
                    received[task_id] = latency
                await asyncio.sleep(0.0005)

        collector = asyncio.create_task(collect())
        samples = await _pickups(database, received, args.pickups)
        collector.cancel()
    finally:
        await producer.stop()
        worker.terminate()
        worker.join(10)
        await database.dispose()
    return rate, cpu_per_task, samples


def _row(name: str, result: Result) -> str:
    rate, cpu_per_task, samples = result
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"{name:<28} {rate:>10,.0f} {cpu_per_task * 1e6:>11,.0f} {p50:>10.2f} {p99:>10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--producers", type=int, default=8)
    parser.add_argument("--pickups", type=int, default=200)
    args = parser.parse_args()
    postgres = os.environ.get("GIGFORGE_BENCH_POSTGRES_URL")
    amqp = os.environ.get("GIGFORGE_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    with tempfile.TemporaryDirectory() as folder:
        if postgres:
            url = postgres.replace("postgresql://", "postgresql+asyncpg://", 1)
            store = "PostgreSQL"
        else:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            store = "SQLite"
        print(f"{args.tasks} tasks by {args.producers} producers, each in its own unit of work;")
        print(f"{args.pickups} pickups one at a time on an idle engine; database: {store}")
        heading = ("tasks/s", "CPU us/task", "pickup p50", "p99 (ms)")
        print(f"{'broker':<28} " + " ".join(f"{column:>10}" for column in heading))
        print(_row("in-process (one process)", asyncio.run(_bench_in_process(url, args))))
        if _answers(amqp):
            print(_row("RabbitMQ (worker process)", asyncio.run(_bench_rabbitmq(url, amqp, args))))
        else:
            print(f"RabbitMQ: nothing answers at {amqp}; skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
