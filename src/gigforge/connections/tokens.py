"""OAuth tokens of a connection: refreshed ahead of expiry, once, under a per-connection lock.

Within a process an asyncio lock per connection makes concurrent callers wait for one refresh;
across processes the connection row is locked (`SELECT ... FOR UPDATE` on PostgreSQL, the write
lock on SQLite) and the stored token re-read, so a second process finds the fresh token instead
of spending the (rotated, single-use) refresh token again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.service import SYSTEM
from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.events import ConnectionNeedsReauth
from gigforge.connections.models import Connection, ConnectionStatus
from gigforge.connections.vault import vault
from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationSpec,
    Permanent,
    TokenRefresher,
)
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish

REFRESH_AHEAD = timedelta(seconds=60)
_locks: dict[uuid.UUID, asyncio.Lock] = {}


def _lock(connection_id: uuid.UUID) -> asyncio.Lock:
    return _locks.setdefault(connection_id, asyncio.Lock())


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None

    @classmethod
    def from_response(cls, body: dict[str, Any], *, previous_refresh: str | None) -> TokenSet:
        expires_in = body.get("expires_in")
        return cls(
            access_token=str(body["access_token"]),
            # Providers that rotate send a new refresh token; others keep the old one valid.
            refresh_token=str(body.get("refresh_token") or previous_refresh or "") or None,
            expires_at=utcnow() + timedelta(seconds=int(expires_in)) if expires_in else None,
        )

    def fresh(self) -> bool:
        return self.expires_at is None or self.expires_at - utcnow() > REFRESH_AHEAD


def read_secrets(raw: str) -> dict[str, Any]:
    payload = json.loads(raw)
    assert isinstance(payload, dict)
    return payload


def tokens_of(payload: dict[str, Any]) -> TokenSet | None:
    tokens = payload.get("tokens")
    if not tokens:
        return None
    expires = tokens.get("expires_at")
    return TokenSet(
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )


def with_tokens(payload: dict[str, Any], tokens: TokenSet) -> str:
    payload = dict(payload)
    payload["tokens"] = {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
    }
    return json.dumps(payload)


async def request_tokens(
    context: IntegrationContext,
    spec: IntegrationSpec,
    *,
    connection: str,
    form: dict[str, str],
) -> dict[str, Any]:
    """POST to the provider's token endpoint through the policy layer (RFC 6749 section 4)."""
    assert spec.oauth is not None
    client_app = context.oauth_client(spec.slug)
    data = dict(form)
    headers = {"Accept": "application/json"}
    if spec.oauth.client_auth == "client_secret_basic":
        pair = f"{client_app.client_id}:{client_app.client_secret.get_secret_value()}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        data["client_id"] = client_app.client_id
        data["client_secret"] = client_app.client_secret.get_secret_value()
    async with context.runtime.client(spec, connection=connection) as client:
        response = await client.post(spec.oauth.token_url, data=data, headers=headers)
    body = response.json()
    assert isinstance(body, dict)
    return body


class RefreshRefused(AuthExpired):
    """The provider refused the refresh token. The unit of work keeps its changes: the
    connection's `needs_reauth` mark, its audit record and its event commit with the failure."""

    keeps_changes = True


class ConnectionTokens(TokenRefresher):
    def __init__(self, context: IntegrationContext, connection: Connection) -> None:
        self.context = context
        self.connection_id = connection.id
        self.user_id = connection.user_id
        self.slug = connection.integration
        self.spec = context.spec_for(connection.integration, connection.base_url)
        self._cached: TokenSet | None = None

    async def access_token(self) -> str:
        if self._cached is not None and self._cached.fresh():
            return self._cached.access_token
        async with _lock(self.connection_id):
            tokens = await self._load()
            if not tokens.fresh():
                tokens = await self._refresh(rejected=tokens.access_token)
            self._cached = tokens
            return tokens.access_token

    async def force_refresh(self, rejected_token: str) -> bool:
        async with _lock(self.connection_id):
            try:
                self._cached = await self._refresh(rejected=rejected_token)
            except AuthExpired:
                return False
            return True

    async def _load(self) -> TokenSet:
        async with unit_of_work(self.context.database) as session:
            connection = await session.get(Connection, self.connection_id)
            tokens = await self._stored(session, connection)
        return tokens

    async def _stored(self, session: AsyncSession, connection: Connection | None) -> TokenSet:
        if connection is None or connection.secret_id is None:
            raise AuthExpired("The connection is gone", integration=self.slug)
        secret = await vault.get(
            session, self.context.keyring, connection.secret_id, user_id=self.user_id
        )
        tokens = tokens_of(read_secrets(secret.reveal_text()))
        if tokens is None:
            raise AuthExpired("The connection holds no OAuth tokens", integration=self.slug)
        return tokens

    async def _refresh(self, *, rejected: str) -> TokenSet:
        """Renew unless the stored token already differs from the one the provider refused."""
        async with unit_of_work(self.context.database) as session:
            connection = (
                await session.execute(
                    select(Connection).where(Connection.id == self.connection_id).with_for_update()
                )
            ).scalar_one_or_none()
            if connection is not None:
                # Take SQLite's write lock too before reading the token (see module docstring).
                await session.execute(
                    update(Connection)
                    .where(Connection.id == self.connection_id)
                    .values(updated_at=Connection.updated_at)
                )
            current = await self._stored(session, connection)
            assert connection is not None
            assert connection.secret_id is not None
            if current.access_token != rejected and current.fresh():
                return current
            if connection.status is ConnectionStatus.needs_reauth or not current.refresh_token:
                raise AuthExpired("The connection must be authorized again", integration=self.slug)
            try:
                body = await request_tokens(
                    self.context,
                    self.spec,
                    connection=str(connection.id),
                    form={"grant_type": "refresh_token", "refresh_token": current.refresh_token},
                )
            except (Permanent, AuthExpired) as exc:
                await self._needs_reauth(session, connection, reason=exc.detail)
                raise RefreshRefused(
                    "The provider refused the refresh token; reconnect", integration=self.slug
                ) from None
            tokens = TokenSet.from_response(body, previous_refresh=current.refresh_token)
            secret = await vault.get(
                session, self.context.keyring, connection.secret_id, user_id=self.user_id
            )
            await vault.replace(
                session,
                self.context.keyring,
                connection.secret_id,
                user_id=self.user_id,
                plaintext=with_tokens(read_secrets(secret.reveal_text()), tokens),
            )
            connection.token_expires_at = tokens.expires_at
            connection.last_error = None
            return tokens

    async def _needs_reauth(
        self, session: AsyncSession, connection: Connection, *, reason: str
    ) -> None:
        connection.status = ConnectionStatus.needs_reauth
        connection.last_error = reason[:500]
        await audit_service.record(
            session,
            SYSTEM,
            action="connection.needs_reauth",
            user_id=connection.user_id,
            target_type="connection",
            target_id=connection.id,
            data={"integration": connection.integration},
        )
        await publish(
            session,
            ConnectionNeedsReauth(connection_id=connection.id, integration=connection.integration),
            user_id=connection.user_id,
        )
