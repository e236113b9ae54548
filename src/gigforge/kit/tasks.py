"""Background work as rows: declare a task, enqueue it inside a unit of work, run it anywhere.

A task is a row in `tasks` written in the same transaction as the change that caused it, so it
exists if and only if that change committed. The broker (see `kit.task_engine`) only carries
"run row X" and is told after the commit; a sweeper re-dispatches rows that are due or whose
lease ran out, so a lost message or a dead worker delays work and never loses it. A run claims
its row atomically, so a message delivered twice runs the task once.

Handlers take keyword arguments of plain JSON values (ids, not objects), open their own units of
work through `TaskContext.database`, and must be safe to run twice: a worker can die after the
work committed and before the row was marked done.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import JSON, Enum, Index, Integer, String, Table, Text, event, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, Database
from gigforge.kit.ids import uuid7

T = TypeVar("T")

#: `session.info` key: ids of tasks this transaction enqueued that are due now.
PENDING_DISPATCH = "gigforge.tasks.pending"
#: `session.info` key: the process's dispatcher, set by `unit_of_work`.
DISPATCHER = "gigforge.tasks.dispatcher"


class TaskState(enum.StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    dead = "dead"
    discarded = "discarded"


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_state_due_at", "state", "due_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[TaskState] = mapped_column(
        Enum(
            TaskState,
            native_enum=False,
            length=16,
            values_callable=lambda states: [state.value for state in states],
        ),
        default=TaskState.pending,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class TaskContext:
    """What a running task gets: the database, the process's shared objects, its own row."""

    def __init__(
        self,
        *,
        database: Database,
        resources: dict[type[Any], Any],
        task_id: uuid.UUID,
        attempt: int,
        lease: timedelta,
    ) -> None:
        self.database = database
        self.task_id = task_id
        self.attempt = attempt
        #: The engine's claim lease: a run silent this long is taken as dead and run again.
        self.lease = lease
        self._resources = resources

    def get(self, kind: type[T]) -> T:
        """The process's instance of `kind` (the integration context, the model router...)."""
        try:
            return cast(T, self._resources[kind])
        except KeyError:
            raise LookupError(f"this process provides no {kind.__name__} to tasks") from None


Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class TaskDefinition:
    name: str
    handler: Handler
    max_attempts: int
    backoff: timedelta

    def delay(self, attempts: int, jitter: float) -> timedelta:
        """Exponential backoff with full jitter in [0.5, 1.0) of the step, capped at 6 hours."""
        step: timedelta = self.backoff * (2 ** max(0, attempts - 1))
        capped: timedelta = min(step, timedelta(hours=6))
        return capped * (0.5 + jitter / 2)


@dataclass
class TaskRegistry:
    """Every task the process can run, by name. Domains declare theirs in `tasks.py`."""

    definitions: dict[str, TaskDefinition] = field(default_factory=dict)

    def task(
        self,
        name: str,
        *,
        max_attempts: int = 5,
        backoff: timedelta = timedelta(seconds=10),
    ) -> Callable[[Handler], Handler]:
        domain, _, verb = name.partition(".")
        if not domain or not verb:
            raise ValueError(f"task names read 'domain.verb', not {name!r}")

        def register(handler: Handler) -> Handler:
            if name in self.definitions:
                raise ValueError(f"task {name!r} is declared twice")
            self.definitions[name] = TaskDefinition(name, handler, max_attempts, backoff)
            return handler

        return register

    def get(self, name: str) -> TaskDefinition:
        try:
            return self.definitions[name]
        except KeyError:
            raise LookupError(f"no task is declared as {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self.definitions)


#: The one registry: `tasks.py` modules register into it when imported (see `gigforge.worker`).
registry = TaskRegistry()
task = registry.task


_INSERT = cast(Table, TaskRow.__table__).insert()


class Dispatcher(Protocol):
    """Told, after a commit, which new tasks are due now; sends each to the broker."""

    def dispatch(self, task_ids: Iterable[uuid.UUID]) -> None: ...


async def enqueue(
    session: AsyncSession,
    name: str,
    *,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
    user_id: uuid.UUID | None = None,
    **args: Any,
) -> uuid.UUID | None:
    """Add task `name` to the caller's unit of work; it is sent to the broker after the commit.

    With `dedupe_key`, a second enqueue of the same key is a no-op (returns None) for as long
    as the first row exists, in this transaction or another.
    """
    definition = registry.get(name)
    now = utcnow()
    due = due_at or now
    values: dict[str, Any] = {
        "id": uuid7(),
        "name": name,
        "args": args,
        "state": TaskState.pending,
        "attempts": 0,
        "max_attempts": definition.max_attempts,
        "due_at": due,
        # Due now and this process sends it right after the commit: the sweeper leaves it
        # alone for a while. With no dispatcher here (a CLI), the next sweep sends it.
        "dispatched_at": now if due <= now and session.info.get(DISPATCHER) else None,
        "dedupe_key": dedupe_key,
        "user_id": user_id,
        "created_at": now,
    }
    if dedupe_key is None:
        # The table's own INSERT with the values as parameters: one cached statement, none of
        # the ORM's per-call work, which is most of what enqueueing costs.
        await session.execute(_INSERT, values)
    else:
        dialect = session.get_bind().dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(TaskRow)
        result = await session.execute(
            statement.values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        if getattr(result, "rowcount", 1) == 0:
            return None
    task_id = cast(uuid.UUID, values["id"])
    if due <= now:
        session.info.setdefault(PENDING_DISPATCH, []).append(task_id)
    return task_id


#: States a task can be sent again from: past its retries, or set aside by an admin.
REQUEUEABLE = (TaskState.dead, TaskState.discarded)


async def requeue(session: AsyncSession, task_id: uuid.UUID) -> bool:
    """Give a dead or discarded task a fresh set of attempts, due now and sent after commit.

    One conditional UPDATE, so two admins retrying at once requeue it once; False when the
    task does not exist or is not dead or discarded. Where no dispatcher will send it (the
    CLI), the row is left unsent for the next sweep of any running worker.
    """
    now = utcnow()
    sent_after_commit = session.info.get(DISPATCHER) is not None
    result = await session.execute(
        update(TaskRow)
        .where(TaskRow.id == task_id, TaskRow.state.in_(REQUEUEABLE))
        .values(
            state=TaskState.pending,
            attempts=0,
            due_at=now,
            dispatched_at=now if sent_after_commit else None,
            claimed_until=None,
            claimed_by=None,
            finished_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    session.info.setdefault(PENDING_DISPATCH, []).append(task_id)
    return True


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    task_ids = session.info.pop(PENDING_DISPATCH, None)
    dispatcher = session.info.get(DISPATCHER)
    if task_ids and dispatcher is not None:
        dispatcher.dispatch(task_ids)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_DISPATCH, None)
