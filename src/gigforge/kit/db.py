"""Async engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import json
import os
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
from sqlalchemy import MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def json_dumps(value: Any) -> str:
    """JSON columns through orjson, several times faster than the standard library on the
    large provider payloads a scan stores. What orjson refuses (an integer wider than 64 bits
    in a provider's payload) is written by the standard library instead, never dropped.
    Reading stays with the standard library, which keeps such integers exact where orjson
    would turn them into floats."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


SQLITE_FILE_MODE = 0o600
# SQLite gives its journal, WAL and shared-memory files the mode of the database file; files
# left from before (or copied in) are tightened too.
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _private_sqlite_file(database: str) -> None:
    """Create the database file readable by its owner only before SQLite writes anything to
    it: it holds password hashes, tokens' hashes and encrypted secrets."""
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SQLITE_FILE_MODE))
    for suffix in _SQLITE_COMPANIONS:
        companion = path.with_name(path.name + suffix)
        try:
            if companion.stat().st_mode & 0o777 != SQLITE_FILE_MODE:
                companion.chmod(SQLITE_FILE_MODE)
        except (FileNotFoundError, PermissionError):
            continue


def create_engine(url: str, *, echo: bool = False, pool_size: int | None = None) -> AsyncEngine:
    """The process's engine for `url`; `pool_size` caps its connections at that number."""
    parsed = make_url(url)
    options: dict[str, Any] = {
        "echo": echo,
        "json_serializer": json_dumps,
    }
    if pool_size is not None:
        options.update(pool_size=pool_size, max_overflow=0)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _private_sqlite_file(database)
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # Many rows go in as multi-row INSERT statements rather than one execution per row.
        # Besides fewer round trips into SQLite, aiosqlite's thread then gives up the GIL
        # once per page instead of once per row, so an insert runs beside the event loop's
        # Python instead of queueing behind it for the GIL at every row.
        engine.sync_engine.dialect.use_insertmanyvalues_wo_returning = True
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "asyncpg":
        # asyncpg prepares every statement, and after five runs PostgreSQL may keep one
        # generic plan for it. A plan made while a table was nearly empty (a first scan into a
        # new database) is a sequential scan, and "external_id IN (2,000 values)" then compares
        # every row with every value: batches slowed from 0.25 s to 3 s over 60,000 rows.
        # Custom plans see the values and the table as it is, for a little planning time.
        options["connect_args"] = {"server_settings": {"plan_cache_mode": "force_custom_plan"}}
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


#: A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE = 5.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["gigforge.checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling, for idle connections only.

    A connection the server dropped while it sat in the pool (a restart, an idle timeout) is
    found here and replaced, so the request that takes it does not fail. A connection in
    steady use skips the ping: under load it was SQLAlchemy's `pool_pre_ping` round trip per
    transaction, a tenth of what a small transaction costs.
    """
    checked_in = record.info.get("gigforge.checked_in")
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError("the pooled connection no longer answers") from exc


# A short transaction that must commit apart from the request's (a throttle counting an
# attempt) takes its connection from a small pool of its own. Taken from the request's pool,
# a burst of requests could hold every connection while each waits for its second one.
SIDE_POOL_SIZE = 4
_side_engines: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def side_session(session: AsyncSession) -> AsyncSession:
    """A new session on the side pool of `session`'s database, for a transaction of its own."""
    bind = session.bind
    side = _side_engines.get(bind) if isinstance(bind, AsyncEngine) else None
    return AsyncSession(bind=side or bind, expire_on_commit=False)


def dialect_insert(session: AsyncSession, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """An INSERT with `on_conflict_do_update`/`do_nothing` for the session's database: both
    SQLite and PostgreSQL do `INSERT ... ON CONFLICT` atomically, which a SELECT followed by an
    INSERT or UPDATE is not."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass
class Database:
    """The engine and session factory of one process."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    #: Told after each commit which new tasks are due (`kit.task_engine.TaskEngine`); None
    #: leaves them to a sweeper.
    dispatcher: Any = None

    @classmethod
    def from_url(cls, url: str) -> Database:
        engine = create_engine(url)
        database = make_url(url).database or ""
        if engine.dialect.name != "sqlite" or (database and database != ":memory:"):
            # An in-memory SQLite database exists only on its own connection.
            _side_engines[engine] = create_engine(url, pool_size=SIDE_POOL_SIZE)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        side = _side_engines.pop(self.engine, None)
        if side is not None:
            await side.dispose()
        await self.engine.dispose()


@asynccontextmanager
async def unit_of_work(database: Database) -> AsyncIterator[AsyncSession]:
    """A session that commits when the caller finishes and rolls back when it raises.

    Errors marked `keeps_changes` commit first: their records (a failed sign-in, a revoked
    token family) are the point of the failure.
    """
    from gigforge.kit.errors import GigforgeError

    async with database.sessionmaker() as session:
        session.info["gigforge.tasks.dispatcher"] = database.dispatcher
        try:
            yield session
        except GigforgeError as exc:
            if exc.keeps_changes:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()
