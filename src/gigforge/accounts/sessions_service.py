"""A user's own sign-in sessions: list the live ones, end one, or end all but this one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.models import AuthSession, User
from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import AuthSessionRepository
from gigforge.audit.service import audit as audit_service
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import NotFound
from gigforge.settings import Settings

MAX_LISTED = 100


class SessionService:
    async def active_user(
        self, session: AsyncSession, *, session_id: uuid.UUID, user_id: uuid.UUID
    ) -> User | None:
        """The user signed in through `session_id`, if that session is still live."""
        return await AuthSessionRepository(session).get_active_with_user(session_id, user_id)

    async def list_live(
        self, session: AsyncSession, principal: Principal, *, settings: Settings
    ) -> Sequence[AuthSession]:
        """Sessions that could still refresh, most recently used first."""
        sessions = AuthSessionRepository(session)
        used_since = utcnow() - settings.refresh_token_ttl
        statement = sessions.live(principal.user_id, used_since=used_since).limit(MAX_LISTED)
        return await sessions.all(statement)

    async def revoke(
        self, session: AsyncSession, principal: Principal, *, session_id: uuid.UUID
    ) -> None:
        """Sign one of your sessions out; it can no longer refresh and its access token stops
        working at once."""
        ended = await AuthSessionRepository(session).revoke_owned(
            principal.user_id, session_id, reason="signed_out_by_user", now=utcnow()
        )
        if not ended:
            raise NotFound("No such live session")
        await audit_service.record(
            session,
            principal.actor,
            action="auth.session_revoked",
            target_type="auth_session",
            target_id=session_id,
            data={"reason": "signed_out_by_user"},
        )

    async def revoke_others(self, session: AsyncSession, principal: Principal) -> int:
        """Sign out everywhere except the session making this call; returns how many ended."""
        ended = await AuthSessionRepository(session).revoke_all(
            principal.user_id,
            reason="signed_out_elsewhere",
            now=utcnow(),
            keep=principal.session_id,
        )
        if ended:
            await audit_service.record(
                session,
                principal.actor,
                action="auth.other_sessions_revoked",
                target_type="user",
                target_id=principal.user_id,
                data={"count": ended},
            )
        return ended


sessions = SessionService()
