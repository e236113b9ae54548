"""Every query of the authorization server.

The async repositories serve the app and authorization API and the bearer check on every
request. `ProtocolStore` is the synchronous face authlib's hooks call: the protocol runs inside
`AsyncSession.run_sync`, on the same connection and transaction as the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gigforge.kit.repository import Repository
from gigforge.oauth_server.models import OAuthApp, OAuthCode, OAuthGrant, OAuthToken

TokenRow = tuple[OAuthToken, OAuthGrant, OAuthApp]


def _token_rows() -> Select[OAuthToken, OAuthGrant, OAuthApp]:
    return (
        select(OAuthToken, OAuthGrant, OAuthApp)
        .join(OAuthGrant, OAuthGrant.id == OAuthToken.grant_id)
        .join(OAuthApp, OAuthApp.id == OAuthGrant.app_id)
    )


def _revoke_tokens(grant_ids: Sequence[uuid.UUID], now: datetime) -> Any:
    return (
        update(OAuthToken)
        .where(OAuthToken.grant_id.in_(grant_ids), OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


class OAuthAppRepository(Repository[OAuthApp]):
    model = OAuthApp

    def listed(self, user_id: uuid.UUID) -> Select[OAuthApp]:
        return self.scoped(user_id).order_by(OAuthApp.created_at, OAuthApp.id)

    async def get_by_client_id(self, client_id: str) -> OAuthApp | None:
        return await self.get_one(select(OAuthApp).where(OAuthApp.client_id == client_id))

    async def delete(self, app: OAuthApp) -> None:
        await self.session.delete(app)
        await self.session.flush()


class OAuthGrantRepository(Repository[OAuthGrant]):
    model = OAuthGrant

    async def live_with_apps(self, user_id: uuid.UUID) -> Sequence[tuple[OAuthGrant, OAuthApp]]:
        result = await self.session.execute(
            select(OAuthGrant, OAuthApp)
            .join(OAuthApp, OAuthApp.id == OAuthGrant.app_id)
            .where(OAuthGrant.user_id == user_id, OAuthGrant.revoked_at.is_(None))
            .order_by(OAuthGrant.created_at, OAuthGrant.id)
        )
        return [(grant, app) for grant, app in result.all()]

    async def live_for_app(self, user_id: uuid.UUID, app_id: uuid.UUID) -> Sequence[OAuthGrant]:
        return await self.all(
            self.scoped(user_id).where(OAuthGrant.app_id == app_id, OAuthGrant.revoked_at.is_(None))
        )

    async def revoke(self, grants: Sequence[OAuthGrant], *, reason: str, now: datetime) -> None:
        for grant in grants:
            grant.revoked_at = now
            grant.revoked_reason = reason
        if grants:
            await self.session.execute(_revoke_tokens([grant.id for grant in grants], now))
        await self.session.flush()


class OAuthTokenRepository(Repository[OAuthToken]):
    model = OAuthToken
    owner_column = None

    async def by_access_hash(self, access_hash: str) -> TokenRow | None:
        result = await self.session.execute(
            _token_rows().where(OAuthToken.access_token_hash == access_hash).limit(1)
        )
        row = result.first()
        return None if row is None else (row[0], row[1], row[2])


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete codes past their expiry and tokens neither half of which can be used any more
    (a used refresh token stays until it expires, so that its reuse is still recognised)."""
    codes = await session.execute(
        delete(OAuthCode)
        .where(OAuthCode.expires_at < now)
        .execution_options(synchronize_session=False)
    )
    tokens = await session.execute(
        delete(OAuthToken)
        .where(
            or_(
                OAuthToken.refresh_expires_at < now,
                and_(
                    OAuthToken.refresh_expires_at.is_(None),
                    OAuthToken.access_expires_at < now,
                ),
            )
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(codes, "rowcount", 0) or 0) + int(getattr(tokens, "rowcount", 0) or 0)


class ProtocolStore:
    """The synchronous queries authlib's hooks make, on the request's own transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def app_by_client_id(self, client_id: str) -> OAuthApp | None:
        return self.session.scalars(
            select(OAuthApp).where(OAuthApp.client_id == client_id).limit(1)
        ).first()

    def code(self, code_hash: str) -> tuple[OAuthCode, OAuthGrant, OAuthApp] | None:
        row = (
            self.session.execute(
                select(OAuthCode, OAuthGrant, OAuthApp)
                .join(OAuthGrant, OAuthGrant.id == OAuthCode.grant_id)
                .join(OAuthApp, OAuthApp.id == OAuthGrant.app_id)
                .where(OAuthCode.code_hash == code_hash)
                .limit(1)
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2])

    def token_by_access(self, access_hash: str) -> TokenRow | None:
        return self._token(_token_rows().where(OAuthToken.access_token_hash == access_hash))

    def token_by_refresh(self, refresh_hash: str) -> TokenRow | None:
        return self._token(_token_rows().where(OAuthToken.refresh_token_hash == refresh_hash))

    def _token(self, statement: Select[OAuthToken, OAuthGrant, OAuthApp]) -> TokenRow | None:
        row = self.session.execute(statement.limit(1)).first()
        return None if row is None else (row[0], row[1], row[2])

    def add(self, row: OAuthGrant | OAuthCode | OAuthToken) -> None:
        self.session.add(row)
        self.session.flush()

    def revoke_grant(self, grant: OAuthGrant, *, reason: str, now: datetime) -> None:
        grant.revoked_at = now
        grant.revoked_reason = reason
        self.session.execute(_revoke_tokens([grant.id], now))
        self.session.flush()

    def retire_refresh_token(self, token_id: uuid.UUID, now: datetime) -> bool:
        """Mark a refresh token used, atomically: False when another request got there first
        (two concurrent refreshes with one token are a reuse, not two rotations)."""
        result = self.session.execute(
            update(OAuthToken)
            .where(OAuthToken.id == token_id, OAuthToken.refresh_used_at.is_(None))
            .values(refresh_used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    def flush(self) -> None:
        self.session.flush()
