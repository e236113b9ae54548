"""Quota notices: every threshold a connection crosses becomes a durable `quota.threshold`
event, and a connection that spent a whole quota window says so until the window resets.

The rate budget tells the runtime's quota listener when a connection crosses 80, 95 and 100% of
an hourly or daily quota. This listener records it in its own short unit of work: the event row,
and at 100% the connection row's "until when", so the dashboard of any process (the web process
is often not the one whose worker spent the quota) can tell the user. The write runs as a
background task: the crossing is seen in the middle of a third-party call, and a caller may
hold SQLite's write lock, so waiting inline for a second writer would stall both.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog
from sqlalchemy import update

from gigforge.connections.events import QuotaThreshold
from gigforge.connections.models import Connection
from gigforge.integrations.framework.ratelimit import QuotaCrossed
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.outbox import publish

logger = structlog.get_logger("gigforge.connections")


class QuotaNotices:
    """The runtime's quota listener; `drain()` before the database is closed so none is lost."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._pending: set[asyncio.Task[None]] = set()

    async def __call__(self, crossed: QuotaCrossed) -> None:
        try:
            connection_id = uuid.UUID(crossed.connection)
        except ValueError:
            return  # built-in connections (a sandbox's own client) have no row and no user
        task = asyncio.create_task(self._record(connection_id, crossed))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, connection_id: uuid.UUID, crossed: QuotaCrossed) -> None:
        try:
            async with unit_of_work(self.database) as session:
                connection = await session.get(Connection, connection_id)
                if connection is None:
                    return
                await publish(
                    session,
                    QuotaThreshold(
                        connection_id=connection_id,
                        integration=crossed.integration,
                        limit=crossed.limit,
                        threshold_percent=crossed.threshold_percent,
                        used_percent=crossed.used_percent,
                        resets_at=crossed.resets_at,
                    ),
                    user_id=connection.user_id,
                )
                if crossed.threshold_percent >= 100:
                    await session.execute(
                        update(Connection)
                        .where(Connection.id == connection_id)
                        .values(
                            quota_reached_until=crossed.resets_at, quota_limit=crossed.limit[:60]
                        )
                    )
        except Exception:
            logger.exception("could not record a quota threshold", connection=str(connection_id))

    async def drain(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
