"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Select, case, delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.models import (
    APIKey,
    AuthSession,
    PasswordReset,
    RefreshToken,
    ThrottleCounter,
    User,
)
from gigforge.accounts.scopes import Role
from gigforge.kit.db import dialect_insert
from gigforge.kit.repository import Repository


class UserRepository(Repository[User]):
    model = User
    owner_column = "id"

    async def existing(self, user_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        if not user_ids:
            return set()
        return set(await self.session.scalars(select(User.id).where(User.id.in_(user_ids))))

    async def get_by_email(self, email: str) -> User | None:
        return await self.get_one(self.statement().where(User.email == email.lower()))

    async def count(self) -> int:
        return (await self.session.execute(select(func.count()).select_from(User))).scalar_one()

    async def count_active_admins(self) -> int:
        statement = select(func.count()).where(User.role == Role.admin, User.is_active.is_(True))
        return (await self.session.execute(statement)).scalar_one()

    def ordered(self) -> Select[User]:
        return self.statement().order_by(User.created_at, User.id)

    async def first(self, limit: int) -> list[User]:
        """The oldest `limit` accounts."""
        return list((await self.session.execute(self.ordered().limit(limit))).scalars())


class AuthSessionRepository(Repository[AuthSession]):
    model = AuthSession

    async def get_active_with_user(self, session_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        """The signed-in user, if the session is live: one query per authenticated request."""
        statement = (
            select(User)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                AuthSession.id == session_id,
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                User.is_active.is_(True),
            )
        )
        return (await self.session.execute(statement)).scalars().first()

    async def revoke(self, session_id: uuid.UUID, *, reason: str, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )

    async def revoke_all(
        self, user_id: uuid.UUID, *, reason: str, now: datetime, keep: uuid.UUID | None = None
    ) -> int:
        """End every live session of a user but `keep`; returns how many ended."""
        statement = update(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
        )
        if keep is not None:
            statement = statement.where(AuthSession.id != keep)
        result = await self.session.execute(statement.values(revoked_at=now, revoked_reason=reason))
        assert isinstance(result, CursorResult)
        return result.rowcount

    def live(self, user_id: uuid.UUID, *, used_since: datetime) -> Select[AuthSession]:
        """A user's sessions that can still refresh: not revoked, and their newest refresh
        token (issued when the session was last used) not yet expired. Most recent first."""
        return (
            self.scoped(user_id)
            .where(AuthSession.revoked_at.is_(None), AuthSession.last_used_at > used_since)
            .order_by(AuthSession.last_used_at.desc(), AuthSession.id)
        )

    async def revoke_owned(
        self, user_id: uuid.UUID, session_id: uuid.UUID, *, reason: str, now: datetime
    ) -> bool:
        """End one live session of this user; False when it is not theirs or already over."""
        result = await self.session.execute(
            update(AuthSession)
            .where(
                AuthSession.id == session_id,
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason=reason)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def count_active(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
        )
        return (await self.session.execute(statement)).scalar_one()


class RefreshTokenRepository(Repository[RefreshToken]):
    model = RefreshToken
    owner_column = None

    async def get_by_hash(self, token_hash: str) -> tuple[RefreshToken, AuthSession] | None:
        statement = (
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row else None

    async def mark_used(self, token_id: uuid.UUID, *, now: datetime) -> bool:
        """Claim a token for rotation; False when another request already used it."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1


class APIKeyRepository(Repository[APIKey]):
    model = APIKey

    async def get_by_hash_with_user(self, key_hash: str) -> tuple[APIKey, User] | None:
        statement = (
            select(APIKey, User)
            .join(User, User.id == APIKey.user_id)
            .where(APIKey.key_hash == key_hash)
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row else None

    def listed(self, user_id: uuid.UUID) -> Select[APIKey]:
        return self.scoped(user_id).order_by(APIKey.created_at.desc(), APIKey.id)

    async def count_active(self, user_id: uuid.UUID, *, now: datetime) -> int:
        statement = select(func.count()).where(
            APIKey.user_id == user_id,
            APIKey.revoked_at.is_(None),
            (APIKey.expires_at.is_(None)) | (APIKey.expires_at > now),
        )
        return (await self.session.execute(statement)).scalar_one()


class PasswordResetRepository(Repository[PasswordReset]):
    model = PasswordReset

    async def get_by_hash(self, token_hash: str) -> PasswordReset | None:
        return await self.get_one(self.statement().where(PasswordReset.token_hash == token_hash))

    async def count_since(self, user_id: uuid.UUID, since: datetime) -> int:
        statement = select(func.count()).where(
            PasswordReset.user_id == user_id, PasswordReset.created_at >= since
        )
        return (await self.session.execute(statement)).scalar_one()

    async def mark_used(self, reset_id: uuid.UUID, *, now: datetime) -> bool:
        result = await self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount == 1


class ThrottleRepository:
    """Counters of attempts per key, each in a fixed window that starts at its first attempt."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_attempt(
        self, key: str, *, now: datetime, window: timedelta
    ) -> tuple[int, datetime]:
        """Count one attempt of `key` in a single atomic statement; returns the attempts in
        the current window (this one included) and when that window ends."""
        insert = dialect_insert(self.session, ThrottleCounter).values(
            key=key, attempts=1, expires_at=now + window
        )
        window_over = ThrottleCounter.expires_at <= now
        statement = insert.on_conflict_do_update(
            index_elements=[ThrottleCounter.key],
            set_={
                "attempts": case((window_over, 1), else_=ThrottleCounter.attempts + 1),
                "expires_at": case(
                    (window_over, insert.excluded.expires_at), else_=ThrottleCounter.expires_at
                ),
            },
        ).returning(ThrottleCounter.attempts, ThrottleCounter.expires_at)
        attempts, expires_at = (await self.session.execute(statement)).one()
        return int(attempts), expires_at

    async def give_back(self, key: str) -> None:
        """Uncount one attempt of the current window (one that turned out to be legitimate)."""
        await self.session.execute(
            update(ThrottleCounter)
            .where(ThrottleCounter.key == key, ThrottleCounter.attempts > 0)
            .values(attempts=ThrottleCounter.attempts - 1)
        )

    async def clear(self, key: str) -> None:
        await self.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))

    async def sweep(self, *, now: datetime, batch: int = 100) -> None:
        """Drop up to `batch` counters whose window is over; rows another transaction holds
        are left for a later sweep rather than waited for (no lock waits, so no deadlocks)."""
        over = (
            select(ThrottleCounter.key)
            .where(ThrottleCounter.expires_at <= now)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        await self.session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.in_(over)))
