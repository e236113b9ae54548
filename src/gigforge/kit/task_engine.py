"""The task engine: taskiq carries "run task row X"; the database decides what runs and when.

`GIGFORGE_BROKER_URL` picks the broker: unset is taskiq's in-process broker (one process, no
service to run); `amqp://` is RabbitMQ through taskiq-aio-pika; `redis://` is a Redis stream
(taskiq-redis). A message is acknowledged only after its task's outcome is committed, so a
worker killed mid-task leaves the message to be delivered again, and its row's lease runs out
for the sweeper to pick up; the row's atomic claim makes the second delivery of a finished task
a no-op.

A run: claim the row (state, lease, attempt) in a short transaction; run the handler with no
transaction open, while a heartbeat renews the lease; record done, a retry with jittered
backoff, or dead, in a second transaction fenced on the claim.

Claims and "done" outcomes are coalesced: while one claim (or outcome) statement is in flight,
the runs that ask meanwhile wait for the next one, which serves all of them in a single
UPDATE ... RETURNING. An idle engine pays one statement per task, as before; a busy one pays one
per batch, which is what lets a worker keep up with a broker that delivers thousands of
messages a second. Each waiting run still learns its own row's result, and nothing is
acknowledged before the statement that records it has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, Generic, TypeVar

import structlog
from sqlalchemy import or_, select, update
from taskiq import AsyncBroker, InMemoryBroker
from taskiq.acks import AcknowledgeType
from taskiq.api.receiver import run_receiver_task

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.redaction import redact
from gigforge.kit.tasks import TaskContext, TaskRegistry, TaskRow, TaskState

logger = structlog.get_logger("gigforge.tasks")

RUN_TASK = "gigforge.run_task"
QUEUE = "gigforge.tasks"
#: A due row that was sent this long ago and is still pending is sent again.
REDISPATCH_AFTER = timedelta(seconds=30)
#: How long a run may go without a heartbeat before its task is taken as abandoned (the
#: worker died) and run again. The heartbeat renews it every third of it while the run lives,
#: so long work keeps its claim however long it takes.
LEASE = timedelta(seconds=60)
MAX_ERROR_CHARS = 2_000
#: Most task ids one message carries: enough to cut the broker's per-message cost several
#: times under load, few enough that a burst (a scan per source) still spreads over workers.
MESSAGE_BATCH = 8
#: Sends in flight at once from one process; what is committed meanwhile waits to be batched.
SENDERS = 1


def broker_from_url(url: str | None, *, queue: str = QUEUE, prefetch: int = 16) -> AsyncBroker:
    """The broker `GIGFORGE_BROKER_URL` names; unset is in-process."""
    if not url:
        return InMemoryBroker(max_async_tasks=64, propagate_exceptions=False)
    if url.startswith(("amqp://", "amqps://")):
        from taskiq_aio_pika import AioPikaBroker, Exchange, Queue

        return AioPikaBroker(
            url,
            qos=prefetch,
            exchange=Exchange(name=queue),
            task_queues=[Queue(name=queue)],
        )
    if url.startswith(("redis://", "rediss://")):
        from taskiq_redis import RedisStreamBroker

        return RedisStreamBroker(url, queue_name=queue, consumer_group_name=f"{queue}.workers")
    raise ValueError(
        "GIGFORGE_BROKER_URL must start with amqp://, amqps://, redis:// or rediss://, not "
        f"{url.split(':', 1)[0]!r}"
    )


def _worker_id() -> str:
    """Host, process and engine: two engines in one process (tests, benchmarks) fence apart."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


K = TypeVar("K")
R = TypeVar("R")


class Coalescer(Generic[K, R]):
    """Runs `flush` over every key asked for while the previous flush was in flight.

    No timer: the first caller of an idle coalescer is served on the next turn of the event
    loop, so an idle engine adds no latency; under load, callers queue behind the statement in
    flight and the next statement serves them all (group commit). `flush` returns a result per
    key it could serve; the others get None. A failing flush fails every caller in it.
    """

    def __init__(
        self, flush: Callable[[Sequence[K]], Awaitable[dict[K, R]]], *, limit: int
    ) -> None:
        self._flush = flush
        self._limit = limit
        self._waiting: list[tuple[K, asyncio.Future[R | None]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def __call__(self, key: K) -> R | None:
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((key, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
            try:
                results = await self._flush([key for key, _ in batch])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for key, future in batch:
                if not future.done():
                    future.set_result(results.get(key))


class TaskEngine:
    """One per process: sends due tasks to the broker and, when consuming, runs them."""

    def __init__(
        self,
        database: Database,
        registry: TaskRegistry,
        *,
        broker_url: str | None = None,
        queue: str = QUEUE,
        resources: dict[type[Any], Any] | None = None,
        sweep_interval: float = 1.0,
        lease: timedelta = LEASE,
        redispatch_after: timedelta = REDISPATCH_AFTER,
        concurrency: int = 16,
    ) -> None:
        self.database = database
        self.registry = registry
        self.resources = resources if resources is not None else {}
        self.sweep_interval = sweep_interval
        self.lease = lease
        self.redispatch_after = redispatch_after
        self.concurrency = concurrency
        self.worker_id = _worker_id()
        # The broker's prefetch counts messages, each up to MESSAGE_BATCH ids: a worker holds
        # about `concurrency` tasks, and leaves the rest of a burst to the other workers.
        prefetch = max(1, -(-concurrency // MESSAGE_BATCH))
        self.broker = broker_from_url(broker_url, queue=queue, prefetch=prefetch)
        self.embedded = isinstance(self.broker, InMemoryBroker)

        async def run_message(task_ids: list[str] | str) -> None:
            # One id per message before batching; a queue may still hold such messages.
            batch = [task_ids] if isinstance(task_ids, str) else task_ids
            await asyncio.gather(*(self.run(uuid.UUID(task_id)) for task_id in batch))

        self._message = self.broker.register_task(run_message, task_name=RUN_TASK)
        self._claims: Coalescer[uuid.UUID, TaskRow] = Coalescer(self._claim_many, limit=256)
        self._completions: Coalescer[uuid.UUID, bool] = Coalescer(self._complete_many, limit=256)
        #: Rows this engine is running now; the heartbeat renews their leases together.
        self._running: set[uuid.UUID] = set()
        #: At most `concurrency` runs at once, however many ids the messages in hand carry.
        self._slots = asyncio.Semaphore(concurrency)
        self._background: set[asyncio.Task[Any]] = set()
        self._unsent: list[uuid.UUID] = []
        self._loops: list[asyncio.Task[None]] = []
        self._heartbeat_loop: asyncio.Task[None] | None = None
        self._started = False

    # Sending -----------------------------------------------------------------------------

    def dispatch(self, task_ids: Iterable[uuid.UUID]) -> None:
        """After a commit: send each new due task. A send that fails is left to the sweeper.

        Ids committed while earlier sends are in flight go out together, up to
        `MESSAGE_BATCH` ids in one message: under load a worker receives one message per batch
        rather than per task, and an idle engine still sends at once."""
        if not self._started:
            return
        self._unsent.extend(task_ids)
        if len(self._background) < SENDERS:
            sender = asyncio.get_running_loop().create_task(self._send_unsent())
            self._background.add(sender)
            sender.add_done_callback(self._background.discard)

    async def _send_unsent(self) -> None:
        while self._unsent:
            batch = self._unsent[:MESSAGE_BATCH]
            del self._unsent[:MESSAGE_BATCH]
            await self._send(batch)

    async def _send(self, task_ids: Sequence[uuid.UUID]) -> None:
        try:
            await self._message.kiq([str(task_id) for task_id in task_ids])
        except Exception as exc:
            logger.warning("tasks not sent; the sweeper will", tasks=len(task_ids), error=str(exc))

    # Running -----------------------------------------------------------------------------

    async def run(self, task_id: uuid.UUID) -> TaskState | None:
        """Claim, execute and record task `task_id`; None when another run has it or it is
        not due (a duplicate message)."""
        async with self._slots:
            return await self._run_claimed(task_id)

    async def _run_claimed(self, task_id: uuid.UUID) -> TaskState | None:
        claimed = await self._claims(task_id)
        if claimed is None:
            return None
        definition = self.registry.definitions.get(claimed.name)
        if definition is None:
            return await self._record_failure(claimed, f"no task is declared as {claimed.name!r}")
        context = TaskContext(
            database=self.database,
            resources=self.resources,
            task_id=claimed.id,
            attempt=claimed.attempts,
            lease=self.lease,
        )
        self._running.add(claimed.id)
        self._ensure_heartbeat()
        try:
            await definition.handler(context, **claimed.args)
        except Exception as exc:
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            logger.warning("task failed", task=claimed.name, task_id=str(task_id), error=detail)
            return await self._record_failure(claimed, detail)
        finally:
            self._running.discard(claimed.id)
        if not await self._completions(claimed.id):
            logger.warning(
                "task outcome not recorded: its lease was taken", task_id=str(claimed.id)
            )
            return None
        return TaskState.done

    async def _claim_many(self, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TaskRow]:
        """One UPDATE ... RETURNING for every id asked: a short write, and no read that a
        writer could outdate. Ids not pending-and-due (or abandoned) are left out."""
        now = utcnow()
        async with unit_of_work(self.database) as session:
            rows = (
                (
                    await session.execute(
                        update(TaskRow)
                        .where(
                            TaskRow.id.in_(set(task_ids)),
                            or_(
                                (TaskRow.state == TaskState.pending) & (TaskRow.due_at <= now),
                                (TaskRow.state == TaskState.running)
                                & (TaskRow.claimed_until < now),
                            ),
                        )
                        .values(
                            state=TaskState.running,
                            attempts=TaskRow.attempts + 1,
                            claimed_until=now + self.lease,
                            claimed_by=self.worker_id,
                        )
                        .returning(TaskRow)
                        .execution_options(synchronize_session=False)
                    )
                )
                .scalars()
                .all()
            )
            for row in rows:
                session.expunge(row)
        return {row.id: row for row in rows}

    async def _complete_many(self, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, bool]:
        """Mark done, in one statement, every run that finished and still holds its claim."""
        now = utcnow()
        async with unit_of_work(self.database) as session:
            recorded = (
                (
                    await session.execute(
                        update(TaskRow)
                        .where(TaskRow.id.in_(set(task_ids)), TaskRow.claimed_by == self.worker_id)
                        .values(
                            state=TaskState.done,
                            claimed_until=None,
                            claimed_by=None,
                            finished_at=now,
                        )
                        .returning(TaskRow.id)
                        .execution_options(synchronize_session=False)
                    )
                )
                .scalars()
                .all()
            )
        return {task_id: True for task_id in recorded}

    def _ensure_heartbeat(self) -> None:
        if self._heartbeat_loop is None or self._heartbeat_loop.done():
            self._heartbeat_loop = asyncio.create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        """While runs live their claims are renewed together every third of the lease, so a
        live worker never loses one and a dead one's run out. Stops when nothing runs."""
        while self._running:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            running = set(self._running)
            if not running:
                return
            try:
                async with unit_of_work(self.database) as session:
                    await session.execute(
                        update(TaskRow)
                        .where(TaskRow.id.in_(running), TaskRow.claimed_by == self.worker_id)
                        .values(claimed_until=utcnow() + self.lease)
                        .execution_options(synchronize_session=False)
                    )
            except Exception:
                logger.exception("task lease renewal failed; retrying at the next beat")

    async def _record_failure(self, claimed: TaskRow, error: str) -> TaskState | None:
        if claimed.attempts >= claimed.max_attempts:
            return await self._record(claimed, TaskState.dead, error=error)
        definition = self.registry.definitions.get(claimed.name)
        jitter = random.random()  # noqa: S311  (spreading retries, not a secret)
        backoff = definition.delay(claimed.attempts, jitter) if definition else timedelta(minutes=1)
        return await self._record(claimed, TaskState.pending, error=error, retry_in=backoff)

    async def _record(
        self,
        claimed: TaskRow,
        state: TaskState,
        *,
        error: str | None,
        retry_in: timedelta | None = None,
    ) -> TaskState | None:
        now = utcnow()
        values: dict[str, Any] = {"state": state, "claimed_until": None, "claimed_by": None}
        if error is not None:
            values["last_error"] = str(redact(error))[:MAX_ERROR_CHARS]
        if state in (TaskState.done, TaskState.dead):
            values["finished_at"] = now
        if retry_in is not None:
            values["due_at"] = now + retry_in
            values["dispatched_at"] = None
        async with unit_of_work(self.database) as session:
            result = await session.execute(
                update(TaskRow)
                .where(TaskRow.id == claimed.id, TaskRow.claimed_by == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if getattr(result, "rowcount", 0) != 1:
            logger.warning(
                "task outcome not recorded: its lease was taken", task_id=str(claimed.id)
            )
            return None
        if state is TaskState.dead:
            logger.error("task dead", task=claimed.name, task_id=str(claimed.id), error=error)
        return state

    # Sweeping ----------------------------------------------------------------------------

    async def sweep(self, *, limit: int = 500) -> int:
        """Send again what is due and unsent (or sent long ago), and what a dead worker held."""
        now = utcnow()
        async with unit_of_work(self.database) as session:
            rows = (
                (
                    await session.execute(
                        select(TaskRow.id)
                        .where(
                            or_(
                                (TaskRow.state == TaskState.pending)
                                & (TaskRow.due_at <= now)
                                & (
                                    TaskRow.dispatched_at.is_(None)
                                    | (TaskRow.dispatched_at < now - self.redispatch_after)
                                ),
                                (TaskRow.state == TaskState.running)
                                & (TaskRow.claimed_until < now),
                            )
                        )
                        .order_by(TaskRow.due_at)
                        .limit(limit)
                    )
                )
                .scalars()
                .all()
            )
            fresh = [task_id for task_id in rows]
            if fresh:
                await session.execute(
                    update(TaskRow)
                    .where(TaskRow.id.in_(fresh))
                    .values(dispatched_at=now)
                    .execution_options(synchronize_session=False)
                )
        for start in range(0, len(fresh), MESSAGE_BATCH):
            await self._send(fresh[start : start + MESSAGE_BATCH])
        return len(fresh)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                logger.exception("task sweep failed")
            await asyncio.sleep(self.sweep_interval)

    # Life cycle --------------------------------------------------------------------------

    async def start(self, *, consume: bool) -> None:
        """Connect to the broker; `consume` also runs tasks here and sweeps."""
        self.database.dispatcher = self
        if consume:
            self.broker.is_worker_process = not self.embedded
        await self.broker.startup()
        self._started = True
        if consume:
            if not self.embedded:
                self._loops.append(
                    asyncio.create_task(
                        run_receiver_task(
                            self.broker,
                            max_async_tasks=self.concurrency,
                            ack_time=AcknowledgeType.WHEN_EXECUTED,
                            propagate_exceptions=False,
                        )
                    )
                )
            self._loops.append(asyncio.create_task(self._sweep_forever()))

    async def stop(self) -> None:
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop
        self._loops.clear()
        if self._heartbeat_loop is not None:
            self._heartbeat_loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._heartbeat_loop
            self._heartbeat_loop = None
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if isinstance(self.broker, InMemoryBroker):
            await self.broker.wait_all()
        self._started = False
        self.database.dispatcher = None
        await self.broker.shutdown()

    async def drain(self, *, within: float = 30.0) -> None:
        """Until nothing is due or running (tests, `worker --once`): sweep and wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if isinstance(self.broker, InMemoryBroker):
                await self.broker.wait_all()
            if not await self._busy():
                return
            await self.sweep()
            await asyncio.sleep(0.02)
        raise TimeoutError("tasks still due or running after the drain timeout")

    async def run_due(self, *, rounds: int = 100) -> int:
        """Run here, one after another, every task due now and those that become due while
        doing so (`worker --once`, tests); returns how many runs finished."""
        finished = 0
        for _ in range(rounds):
            now = utcnow()
            async with unit_of_work(self.database) as session:
                due = (
                    (
                        await session.execute(
                            select(TaskRow.id)
                            .where(
                                or_(
                                    (TaskRow.state == TaskState.pending) & (TaskRow.due_at <= now),
                                    (TaskRow.state == TaskState.running)
                                    & (TaskRow.claimed_until < now),
                                )
                            )
                            .order_by(TaskRow.due_at)
                        )
                    )
                    .scalars()
                    .all()
                )
            if not due:
                break
            for task_id in due:
                finished += await self.run(task_id) is not None
        return finished

    async def _busy(self) -> bool:
        now = utcnow()
        async with unit_of_work(self.database) as session:
            found = await session.scalar(
                select(TaskRow.id)
                .where(
                    or_(
                        (TaskRow.state == TaskState.pending) & (TaskRow.due_at <= now),
                        TaskRow.state == TaskState.running,
                    )
                )
                .limit(1)
            )
        return found is not None
