"""Every query of the connections domain."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import Select, delete, select, update
from sqlalchemy.engine import CursorResult

from gigforge.connections.models import (
    Connection,
    ConnectionStatus,
    Envelope,
    OAuthState,
    VaultSecret,
)
from gigforge.kit.clock import utcnow
from gigforge.kit.repository import Repository


class VaultSecretRepository(Repository[VaultSecret]):
    model = VaultSecret

    def scoped(self, user_id: uuid.UUID | None) -> Select[VaultSecret]:
        """One user's secrets, or the server's own when `user_id` is None."""
        owner = VaultSecret.user_id.is_(None) if user_id is None else VaultSecret.user_id == user_id
        return self.statement().where(owner)

    async def get_owned(self, user_id: uuid.UUID | None, id: uuid.UUID) -> VaultSecret | None:
        return await self.get_one(self.scoped(user_id).where(VaultSecret.id == id))

    async def delete(self, secret: VaultSecret) -> None:
        await self.session.delete(secret)
        await self.session.flush()

    async def not_under(self, kek_id: str, *, limit: int) -> Sequence[VaultSecret]:
        """Secrets still encrypted under some other key, in a stable order for batching."""
        return await self.all(
            self.statement()
            .where(VaultSecret.kek_id != kek_id)
            .order_by(VaultSecret.id)
            .limit(limit)
        )

    async def kek_ids_in_use(self) -> set[str]:
        result = await self.session.execute(select(VaultSecret.kek_id).distinct())
        return set(result.scalars().all())

    async def reseal(
        self, secret_id: uuid.UUID, *, expected_nonce: bytes, envelope: Envelope
    ) -> bool:
        """Swap in a new envelope unless the secret changed since it was read.

        Every encryption draws a fresh nonce, so an unchanged nonce proves nobody replaced the
        secret in between; False means a concurrent write won and this one was dropped.
        """
        result = await self.session.execute(
            update(VaultSecret)
            .where(VaultSecret.id == secret_id, VaultSecret.nonce == expected_nonce)
            .values(**dataclasses.asdict(envelope), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1


class ConnectionRepository(Repository[Connection]):
    model = Connection

    def listed(self, user_id: uuid.UUID) -> Select[Connection]:
        return self.scoped(user_id).order_by(
            Connection.integration, Connection.priority, Connection.name
        )

    async def named(self, user_id: uuid.UUID, integration: str, name: str) -> Connection | None:
        return await self.get_one(
            self.scoped(user_id).where(
                Connection.integration == integration, Connection.name == name
            )
        )

    async def in_fallback_order(self, user_id: uuid.UUID) -> Sequence[Connection]:
        """Every connection of the user, enabled or not, in the order chains try them."""
        return await self.all(
            self.scoped(user_id).order_by(Connection.priority, Connection.created_at, Connection.id)
        )

    async def by_id(self, connection_id: uuid.UUID) -> Connection | None:
        """Any user's connection, for background work acting for its owner."""
        return await self.session.get(Connection, connection_id)

    async def active_of(self, integrations: Collection[str]) -> Sequence[Connection]:
        """Every user's active connections to these integrations, oldest first."""
        if not integrations:
            return ()
        return await self.all(
            self.statement()
            .where(
                Connection.status == ConnectionStatus.active,
                Connection.integration.in_(sorted(integrations)),
            )
            .order_by(Connection.created_at, Connection.id)
        )

    async def existing(self, connection_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        if not connection_ids:
            return set()
        found = await self.session.scalars(
            select(Connection.id).where(Connection.id.in_(connection_ids))
        )
        return set(found)

    async def active(self, user_id: uuid.UUID) -> Sequence[Connection]:
        return await self.all(
            self.scoped(user_id)
            .where(Connection.status == ConnectionStatus.active)
            .order_by(Connection.priority, Connection.created_at)
        )


class OAuthStateRepository(Repository[OAuthState]):
    model = OAuthState

    async def pending(self, state_hash: str) -> OAuthState | None:
        """The flow a callback names, left in place until its caller is known to own it."""
        return await self.get_one(self.statement().where(OAuthState.state_hash == state_hash))

    async def consume(self, state: OAuthState) -> bool:
        """Delete the flow; False when a concurrent callback already did, so a state works
        once."""
        result = await self.session.execute(delete(OAuthState).where(OAuthState.id == state.id))
        assert isinstance(result, CursorResult)
        return result.rowcount == 1
