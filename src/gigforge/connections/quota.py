"""Quota notices: a connection that spent a whole quota window says so until the window resets.

The rate budget publishes `integration.quota` at 80, 95 and 100% of an hourly or daily quota.
At 100% the connection row records until when, so the dashboard of any process (the web process
is often not the one whose worker spent the quota) can tell the user. The write runs as a
background task: the publisher may be inside a transaction that holds SQLite's write lock, and
waiting inline for a second writer would stall both until the busy timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import structlog
from sqlalchemy import update

from gigforge.connections.models import Connection
from gigforge.db import Database, unit_of_work
from gigforge.kit.events import Event

logger = structlog.get_logger("gigforge.connections")

QUOTA_EVENT = "integration.quota"


class QuotaNotices:
    """An event subscriber; `drain()` before the database is closed so no record is lost."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: set[asyncio.Task[None]] = set()

    async def __call__(self, event: Event) -> None:
        if event.name != QUOTA_EVENT or int(event.data.get("threshold_percent", 0)) < 100:
            return
        try:
            connection_id = uuid.UUID(str(event.data.get("connection")))
            until = datetime.fromisoformat(str(event.data["resets_at"]))
        except (KeyError, ValueError):
            return  # built-in connections have no row; an event without a reset says nothing
        limit = str(event.data.get("limit", ""))[:60]
        task = asyncio.create_task(self._record(connection_id, until, limit))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, connection_id: uuid.UUID, until: datetime, limit: str) -> None:
        try:
            async with unit_of_work(self.database) as session:
                await session.execute(
                    update(Connection)
                    .where(Connection.id == connection_id)
                    .values(quota_reached_until=until, quota_limit=limit)
                )
        except Exception:
            logger.exception("could not record a spent quota", connection=str(connection_id))

    async def drain(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
