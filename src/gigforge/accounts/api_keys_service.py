"""API keys: created with a subset of the creator's scopes, shown once, stored hashed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.models import APIKey, User
from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import APIKeyRepository
from gigforge.accounts.schemas import APIKeyCreate, APIKeyCreated, APIKeyRead
from gigforge.accounts.scopes import scopes_for
from gigforge.accounts.tokens import API_KEY_PREFIX, hash_opaque_token, new_opaque_token
from gigforge.audit.service import audit as audit_service
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import NotFound, ValidationFailed
from gigforge.kit.pagination import PageParams

DISPLAY_PREFIX_LENGTH = 10
LAST_USED_RESOLUTION = timedelta(minutes=5)


class APIKeyService:
    async def create(
        self, session: AsyncSession, principal: Principal, *, data: APIKeyCreate
    ) -> APIKeyCreated:
        requested = {scope.value for scope in data.scopes}
        missing = requested - principal.scopes
        if missing:
            raise InsufficientScope(
                f"A key cannot have scopes its creator lacks: {', '.join(sorted(missing))}"
            )
        if data.expires_at is not None and (
            data.expires_at.tzinfo is None or data.expires_at <= utcnow()
        ):
            raise ValidationFailed(
                "expires_at must be a future time with a timezone",
                errors=[
                    {
                        "loc": ["body", "expires_at"],
                        "msg": "must be a future aware time",
                        "type": "value_error",
                    }
                ],
            )
        raw_key = new_opaque_token(API_KEY_PREFIX)
        key = await APIKeyRepository(session).create(
            APIKey(
                user_id=principal.user_id,
                name=data.name,
                prefix=raw_key[:DISPLAY_PREFIX_LENGTH],
                key_hash=hash_opaque_token(raw_key),
                scopes=sorted(requested),
                expires_at=data.expires_at,
            )
        )
        await audit_service.record(
            session,
            principal.actor,
            action="api_key.created",
            target_type="api_key",
            target_id=key.id,
            data={"name": key.name, "scopes": key.scopes},
        )
        return APIKeyCreated(**APIKeyRead.model_validate(key).model_dump(), key=raw_key)

    async def list(
        self, session: AsyncSession, principal: Principal, *, page: PageParams
    ) -> tuple[Sequence[APIKey], int]:
        keys = APIKeyRepository(session)
        return await keys.paginate(keys.listed(principal.user_id), page)

    async def revoke(
        self, session: AsyncSession, principal: Principal, *, key_id: uuid.UUID
    ) -> None:
        key = await APIKeyRepository(session).get_owned(principal.user_id, key_id)
        if key is None:
            raise NotFound("No such API key")
        if key.revoked_at is not None:
            return
        key.revoked_at = utcnow()
        await audit_service.record(
            session,
            principal.actor,
            action="api_key.revoked",
            target_type="api_key",
            target_id=key.id,
            data={"name": key.name},
        )
        await session.flush()

    async def authenticate(
        self, session: AsyncSession, raw_key: str, *, ip: str | None
    ) -> Principal:
        found = await APIKeyRepository(session).get_by_hash_with_user(hash_opaque_token(raw_key))
        now = utcnow()
        if found is None:
            raise InvalidToken("The API key is invalid, revoked or expired")
        key, user = found
        if (
            key.revoked_at is not None
            or (key.expires_at is not None and key.expires_at <= now)
            or not user.is_active
        ):
            raise InvalidToken("The API key is invalid, revoked or expired")
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            key.last_used_at = now
        return Principal(
            user=user,
            scopes=frozenset(key.scopes) & _role_scopes(user),
            api_key_id=key.id,
            ip=ip,
        )


def _role_scopes(user: User) -> frozenset[str]:
    """A key never outlives a demotion: its scopes are cut to what the role still grants."""
    return frozenset(scope.value for scope in scopes_for(user.role))


api_keys = APIKeyService()
