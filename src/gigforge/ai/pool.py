"""The router's view of a user's LLM connections: kept in memory, dropped when they change,
and one open connector per connection."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import Connection
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import Connector

MAX_POOLED_CONNECTORS = 256


@dataclass
class _Pooled:
    connector: Connector
    connection_id: uuid.UUID
    user_id: uuid.UUID
    version: datetime  # the connection row's updated_at when the connector was built
    leases: int = 0
    retired: bool = False


class ConnectorPool:
    """One open connector per LLM connection, reused from call to call.

    Why: building a connector (an HTTP client behind the policy layer, the provider's SDK)
    costs about a third of a millisecond here, and against a real provider a fresh client also
    means a new TLS context and connection per call. A connector is rebuilt when its row changed
    (its `updated_at`, which every ORM write moves), retired when its connection leaves the
    user's chain (disabled, needs_reauth, deleted) or the pool is full, and its client closed once
    no call is using it.

    Secrets: an API-key connector holds none, the policy layer reads the key from the vault for
    each request, so a replaced key is used at once. An OAuth connector's `ConnectionTokens`
    keeps the access token in memory until it nears expiry, as any long-lived connector does;
    it refreshes under the shared per-connection lock, and after a 401 (a token another process
    rotated) re-reads the stored one. Specs that keep secrets in their config are never pooled.
    """

    def __init__(self, capacity: int = MAX_POOLED_CONNECTORS) -> None:
        self.capacity = capacity
        self._pooled: OrderedDict[uuid.UUID, _Pooled] = OrderedDict()

    @asynccontextmanager
    async def lease(
        self, session: AsyncSession, *, context: IntegrationContext, connection: Connection
    ) -> AsyncIterator[Connector]:
        if context.spec_for(connection.integration).secrets_in_config:
            connector = await connection_service.connector(
                session, context=context, connection=connection
            )
            async with connector.client:
                yield connector
            return
        pooled = self._pooled.get(connection.id)
        if pooled is None or pooled.version != connection.updated_at:
            if pooled is not None:
                await self._retire(pooled)
            connector = await connection_service.connector(
                session, context=context, connection=connection
            )
            pooled = _Pooled(connector, connection.id, connection.user_id, connection.updated_at)
            self._pooled[connection.id] = pooled
            while len(self._pooled) > self.capacity:
                await self._retire(next(iter(self._pooled.values())))
        self._pooled.move_to_end(connection.id)
        pooled.leases += 1
        try:
            yield pooled.connector
        finally:
            pooled.leases -= 1
            if pooled.retired and not pooled.leases:
                await pooled.connector.client.aclose()

    async def keep_only(self, user_id: uuid.UUID, connection_ids: set[uuid.UUID]) -> None:
        """Retire the user's connectors whose connections left the chain."""
        for pooled in list(self._pooled.values()):
            if pooled.user_id == user_id and pooled.connection_id not in connection_ids:
                await self._retire(pooled)

    async def close(self) -> None:
        for pooled in list(self._pooled.values()):
            await self._retire(pooled)

    async def _retire(self, pooled: _Pooled) -> None:
        if self._pooled.get(pooled.connection_id) is pooled:
            del self._pooled[pooled.connection_id]
        pooled.retired = True
        if not pooled.leases:
            await pooled.connector.client.aclose()
