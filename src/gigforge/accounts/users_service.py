"""Profiles, statistics and admin changes to accounts."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts import passwords
from gigforge.accounts.errors import (
    CurrentPasswordIncorrect,
    EmailTaken,
    LastAdmin,
)
from gigforge.accounts.models import User
from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import APIKeyRepository, AuthSessionRepository, UserRepository
from gigforge.accounts.schemas import UserAdminUpdate, UserStats, UserUpdate
from gigforge.accounts.scopes import Role
from gigforge.accounts.service import auth as auth_service
from gigforge.audit.service import audit as audit_service
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import NotFound, ValidationFailed
from gigforge.kit.pagination import PageParams
from gigforge.settings import Settings


class UserService:
    async def update_me(
        self, session: AsyncSession, principal: Principal, *, settings: Settings, update: UserUpdate
    ) -> User:
        user = principal.user
        changes = update.model_dump(exclude_unset=True)
        sensitive = {"email", "new_password"} & changes.keys()
        if sensitive:
            if update.current_password is None:
                raise ValidationFailed(
                    "current_password is required to change the email or the password",
                    errors=[
                        {
                            "loc": ["body", "current_password"],
                            "msg": "Field required",
                            "type": "missing",
                        }
                    ],
                )
            if not await passwords.verify_password(
                settings, user.password_hash, update.current_password
            ):
                raise CurrentPasswordIncorrect()
        if update.full_name is not None:
            user.full_name = update.full_name
        if update.email is not None and update.email.lower() != user.email:
            new_email = update.email.lower()
            if await UserRepository(session).get_by_email(new_email) is not None:
                raise EmailTaken()
            user.email = new_email
            await audit_service.record(
                session,
                principal.actor,
                action="user.email_changed",
                target_type="user",
                target_id=user.id,
            )
        if update.new_password is not None:
            passwords.check_policy(update.new_password, email=user.email, full_name=user.full_name)
            await auth_service.set_password(
                session,
                principal.actor,
                user=user,
                settings=settings,
                new_password=update.new_password,
                keep_session=principal.session_id,
            )
            await audit_service.record(
                session,
                principal.actor,
                action="user.password_changed",
                target_type="user",
                target_id=user.id,
            )
        await session.flush()
        return user

    async def existing(
        self, session: AsyncSession, user_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of `user_ids` are still accounts (rows written later must not outlive them)."""
        return await UserRepository(session).existing(user_ids)

    async def currency_of(self, session: AsyncSession, user_id: uuid.UUID) -> str:
        """The user's own currency (USD until they choose), for money shown to them."""
        user = await UserRepository(session).get(user_id)
        return user.currency if user is not None else "USD"

    async def stats(self, session: AsyncSession, principal: Principal) -> UserStats:
        user = principal.user
        return UserStats(
            member_since=user.created_at,
            active_sessions=await AuthSessionRepository(session).count_active(user.id),
            active_api_keys=await APIKeyRepository(session).count_active(user.id, now=utcnow()),
            currency=user.currency,
        )

    async def list(
        self, session: AsyncSession, principal: Principal, *, page: PageParams
    ) -> tuple[Sequence[User], int]:
        users = UserRepository(session)
        return await users.paginate(users.ordered(), page)

    async def admin_update(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        user_id: uuid.UUID,
        update: UserAdminUpdate,
    ) -> User:
        users = UserRepository(session)
        user = await users.get(user_id)
        if user is None:
            raise NotFound("No such user")
        losing_admin = (
            user.role == Role.admin
            and user.is_active
            and (
                (update.role is not None and update.role != Role.admin) or update.is_active is False
            )
        )
        if losing_admin and await users.count_active_admins() <= 1:
            raise LastAdmin()
        if update.role is not None and update.role != user.role:
            await audit_service.record(
                session,
                principal.actor,
                action="user.role_changed",
                user_id=user.id,
                target_type="user",
                target_id=user.id,
                data={"from": user.role.value, "to": update.role.value},
            )
            user.role = update.role
            # Access tokens carry scopes: end the sessions so new tokens carry the new role's.
            await AuthSessionRepository(session).revoke_all(
                user.id, reason="role_changed", now=utcnow()
            )
        if update.is_active is not None and update.is_active != user.is_active:
            user.is_active = update.is_active
            if not update.is_active:
                await AuthSessionRepository(session).revoke_all(
                    user.id, reason="deactivated", now=utcnow()
                )
            await audit_service.record(
                session,
                principal.actor,
                action="user.activated" if update.is_active else "user.deactivated",
                user_id=user.id,
                target_type="user",
                target_id=user.id,
            )
        await session.flush()
        return user


users = UserService()
