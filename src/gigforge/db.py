"""Async engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import make_url
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


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    options: dict[str, Any] = {
        "echo": echo,
        "json_serializer": json_dumps,
    }
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
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
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **options)


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
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
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
