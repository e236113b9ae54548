"""Fallback order: which of a user's connections a capability tries first, and moving one.

Chains (`ConnectionService.chain`) try connections by `priority`, then by age. Moving one up or
down swaps it with its neighbour in that capability's order and renumbers the capability's
connections in steps of ten, so equal priorities (every connection starts at 100) still move.
A connection offering several capabilities has one priority, so moving it in one order moves
it in the others too; the dashboard shows each order as it then is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.connections.repository import ConnectionRepository
from gigforge.integrations.framework import Capability
from gigforge.kit.errors import BadRequest, GigforgeError, NotFound

PRIORITY_STEP = 10


class Direction(StrEnum):
    up = "up"
    down = "down"


class NotInThisOrder(BadRequest):
    code = "connection-not-in-order"
    title = "The connection does not offer this capability"


@dataclass(frozen=True)
class FallbackChain:
    capability: Capability
    connections: Sequence[Connection]


def capabilities_of(context: IntegrationContext, slug: str) -> frozenset[Capability]:
    """What an installed integration offers; nothing for one that is no longer installed."""
    try:
        return context.registry.get(slug).spec.capabilities
    except GigforgeError:  # unknown, or shipped but not enabled here: in no chain
        return frozenset()


class FallbackOrderService:
    async def chains(
        self, session: AsyncSession, principal: Principal, *, context: IntegrationContext
    ) -> list[FallbackChain]:
        """Each capability two or more of the user's connections offer, in the order tried."""
        ordered = await ConnectionRepository(session).in_fallback_order(principal.user_id)
        by_capability: dict[Capability, list[Connection]] = {}
        for connection in ordered:
            for capability in capabilities_of(context, connection.integration):
                by_capability.setdefault(capability, []).append(connection)
        return [
            FallbackChain(capability, connections)
            for capability, connections in sorted(by_capability.items())
            if len(connections) > 1
        ]

    async def move(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        connection_id: uuid.UUID,
        capability: Capability,
        direction: Direction,
    ) -> Connection:
        """Swap the connection with its neighbour in the capability's order; at either end
        nothing changes."""
        ordered = await ConnectionRepository(session).in_fallback_order(principal.user_id)
        chain = [c for c in ordered if capability in capabilities_of(context, c.integration)]
        index = next((i for i, c in enumerate(chain) if c.id == connection_id), None)
        if index is None:
            if not any(c.id == connection_id for c in ordered):
                raise NotFound("No such connection")
            raise NotInThisOrder(f"The connection is not one of your {capability} connections")
        other = index - 1 if direction is Direction.up else index + 1
        connection = chain[index]
        if not 0 <= other < len(chain):
            return connection
        chain[index], chain[other] = chain[other], chain[index]
        for position, item in enumerate(chain, 1):
            item.priority = position * PRIORITY_STEP
        await audit_service.record(
            session,
            principal.actor,
            action="connection.reordered",
            target_type="connection",
            target_id=connection.id,
            data={"capability": str(capability), "direction": str(direction), "position": other},
        )
        await session.flush()
        return connection


fallback_order = FallbackOrderService()
