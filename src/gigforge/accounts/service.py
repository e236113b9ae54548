"""Sign-up, sign-in, token rotation, sign-out and password reset."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import urlencode

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts import passwords, throttle
from gigforge.accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
    RefreshTokenReused,
    RegistrationClosed,
    RegistrationThrottled,
    WrongPassword,
)
from gigforge.accounts.models import AuthSession, PasswordReset, RefreshToken, User
from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import (
    AuthSessionRepository,
    PasswordResetRepository,
    RefreshTokenRepository,
    UserRepository,
)
from gigforge.accounts.schemas import TokenPair
from gigforge.accounts.scopes import Role, scopes_for
from gigforge.accounts.throttle import Limit
from gigforge.accounts.tokens import (
    REFRESH_TOKEN_PREFIX,
    RESET_TOKEN_PREFIX,
    hash_opaque_token,
    issue_access_token,
    new_opaque_token,
)
from gigforge.audit.service import audit as audit_service
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.email import EmailMessage
from gigforge.settings import Settings

logger = structlog.get_logger("gigforge.accounts")

MAX_RESETS_PER_WINDOW = 3
USER_AGENT_MAX = 256


def _account_key(email: str) -> str:
    return "account:" + hashlib.sha256(email.lower().encode()).hexdigest()


def _ip_key(ip: str | None) -> str | None:
    return f"ip:{ip}" if ip else None


def _signup_key(ip: str) -> str:
    return f"signup:ip:{ip}"


class AuthService:
    async def register(
        self,
        session: AsyncSession,
        client: Actor,
        *,
        settings: Settings,
        email: str,
        password: str,
        full_name: str,
        user_agent: str | None = None,
    ) -> TokenPair:
        if not settings.allow_registration:
            raise RegistrationClosed()
        await self._check_new_account(
            UserRepository(session), email=email, password=password, full_name=full_name
        )
        if client.ip:
            # Counted before the Argon2id hash: a burst of sign-ups is refused, not computed.
            await throttle.reserve(
                session,
                [
                    Limit(
                        _signup_key(client.ip),
                        settings.registrations_per_ip,
                        settings.registration_window,
                    )
                ],
                refusal=lambda seconds: RegistrationThrottled(retry_after=seconds),
            )
        user = await self.create_user(
            session,
            client,
            settings=settings,
            email=email,
            password=password,
            full_name=full_name,
        )
        return await self._start_session(session, client, user, settings, user_agent)

    async def create_user(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        email: str,
        password: str,
        full_name: str,
        role: Role | None = None,
    ) -> User:
        """Create an account; the first account on a server is its admin."""
        users = UserRepository(session)
        email = email.lower()
        await self._check_new_account(users, email=email, password=password, full_name=full_name)
        if role is None:
            role = Role.admin if await users.count() == 0 else Role.member
        try:
            user = await users.create(
                User(
                    email=email,
                    full_name=full_name,
                    role=role,
                    password_hash=await passwords.hash_password(settings, password),
                )
            )
        except IntegrityError:
            raise EmailTaken() from None
        await audit_service.record(
            session,
            actor,
            action="user.registered",
            user_id=user.id,
            target_type="user",
            target_id=user.id,
            data={"role": role.value},
        )
        return user

    async def _check_new_account(
        self, users: UserRepository, *, email: str, password: str, full_name: str
    ) -> None:
        passwords.check_policy(password, email=email.lower(), full_name=full_name)
        if await users.get_by_email(email) is not None:
            raise EmailTaken()

    async def login(
        self,
        session: AsyncSession,
        client: Actor,
        *,
        settings: Settings,
        email: str,
        password: str,
        user_agent: str | None = None,
    ) -> TokenPair:
        email = email.lower()
        account_key, ip_key = _account_key(email), _ip_key(client.ip)
        limits = [
            Limit(
                account_key, settings.login_max_failures_per_account, settings.login_failure_window
            )
        ]
        if ip_key is not None:
            limits.append(
                Limit(ip_key, settings.login_max_failures_per_ip, settings.login_failure_window)
            )
        # The attempt is counted before the password is checked, so concurrent guesses cannot
        # all be checked; a success gives it back below.
        await throttle.reserve(
            session, limits, refusal=lambda seconds: LoginThrottled(retry_after=seconds)
        )

        user = await UserRepository(session).get_by_email(email)
        if user is None:
            # Spend the same time as a real check so response time does not reveal accounts.
            await passwords.verify_password(settings, _DUMMY_HASH.get(settings), password)
            valid = False
        else:
            valid = await passwords.verify_password(settings, user.password_hash, password)
        if user is None or not valid or not user.is_active:
            reason = (
                "unknown_account" if user is None else ("inactive" if valid else "wrong_password")
            )
            await audit_service.record(
                session,
                client,
                action="auth.login_failed",
                user_id=user.id if user else None,
                data={"reason": reason},
            )
            raise InvalidCredentials()

        await throttle.clear(session, account_key)
        if ip_key is not None:
            await throttle.give_back(session, ip_key)
        if passwords.needs_rehash(settings, user.password_hash):
            user.password_hash = await passwords.hash_password(settings, password)
        await audit_service.record(
            session,
            Actor(user_id=user.id, ip=client.ip),
            action="auth.login",
            target_type="user",
            target_id=user.id,
        )
        return await self._start_session(session, client, user, settings, user_agent)

    async def refresh(
        self, session: AsyncSession, client: Actor, *, settings: Settings, refresh_token: str
    ) -> TokenPair:
        found = await RefreshTokenRepository(session).get_by_hash(hash_opaque_token(refresh_token))
        if found is None:
            raise InvalidToken()
        token, family = found
        if family.revoked_at is not None:
            raise InvalidToken()
        now = utcnow()
        if token.used_at is not None or not await RefreshTokenRepository(session).mark_used(
            token.id, now=now
        ):
            await self._revoke_family(session, client, family, reason="refresh_token_reuse")
            raise RefreshTokenReused()
        if token.expires_at <= now:
            raise InvalidToken()
        user = await UserRepository(session).get(family.user_id)
        if user is None or not user.is_active:
            raise InvalidToken()
        family.last_used_at = now
        return await self._issue(session, user, family, settings)

    async def logout(
        self,
        session: AsyncSession,
        principal: Principal | None,
        *,
        client: Actor,
        refresh_token: str | None,
    ) -> None:
        """Revoke the session family named by the refresh token or by the access token."""
        family: AuthSession | None = None
        if refresh_token is not None:
            found = await RefreshTokenRepository(session).get_by_hash(
                hash_opaque_token(refresh_token)
            )
            if found is not None:
                family = found[1]
        if family is None and principal is not None and principal.session_id is not None:
            family = await AuthSessionRepository(session).get(principal.session_id)
        if family is None:
            raise InvalidToken("Send the refresh token or an access token of the session")
        if principal is not None and family.user_id != principal.user_id:
            raise InvalidToken()
        await self._revoke_family(session, client, family, reason="logout")

    async def request_password_reset(
        self, session: AsyncSession, client: Actor, *, settings: Settings, email: str
    ) -> EmailMessage | None:
        """Create a single-use reset token; None (and no email) for unknown accounts."""
        user = await UserRepository(session).get_by_email(email)
        if user is None or not user.is_active:
            return None
        resets = PasswordResetRepository(session)
        now = utcnow()
        if await resets.count_since(user.id, now - settings.password_reset_ttl) >= (
            MAX_RESETS_PER_WINDOW
        ):
            logger.warning("password_reset.suppressed", user_id=str(user.id))
            return None
        token = new_opaque_token(RESET_TOKEN_PREFIX)
        await resets.create(
            PasswordReset(
                user_id=user.id,
                token_hash=hash_opaque_token(token),
                expires_at=now + settings.password_reset_ttl,
            )
        )
        await audit_service.record(
            session,
            client,
            action="auth.password_reset_requested",
            user_id=user.id,
            target_type="user",
            target_id=user.id,
        )
        minutes = int(settings.password_reset_ttl.total_seconds() // 60)
        base = settings.public_url.rstrip("/")
        return EmailMessage(
            to=user.email,
            subject="Reset your Gigforge password",
            text=(
                f"Hello {user.full_name},\n\n"
                f"Someone asked to reset the password of your Gigforge account. If it was you,\n"
                f"open this single-use link within {minutes} minutes to choose a new one:\n\n"
                f"    {base}/reset-password?{urlencode({'code': token})}\n\n"
                f"The code in the link is {token}\n"
                f"(API clients: POST {base}/api/v1/auth/reset-password/confirm\n"
                f'with {{"token": "<the code>", "new_password": "<your new password>"}}).\n\n'
                f"If it was not you, ignore this email; your password is unchanged.\n"
            ),
        )

    async def confirm_password_reset(
        self,
        session: AsyncSession,
        client: Actor,
        *,
        settings: Settings,
        token: str,
        new_password: str,
    ) -> None:
        resets = PasswordResetRepository(session)
        reset = await resets.get_by_hash(hash_opaque_token(token))
        now = utcnow()
        if reset is None or reset.used_at is not None or reset.expires_at <= now:
            raise InvalidToken("The reset code is invalid, already used or expired")
        user = await UserRepository(session).get(reset.user_id)
        if user is None or not user.is_active:
            raise InvalidToken("The reset code is invalid, already used or expired")
        passwords.check_policy(new_password, email=user.email, full_name=user.full_name)
        if not await resets.mark_used(reset.id, now=now):
            raise InvalidToken("The reset code is invalid, already used or expired")
        await self.set_password(
            session,
            client,
            user=user,
            settings=settings,
            new_password=new_password,
            keep_session=None,
        )
        await audit_service.record(
            session,
            client,
            action="auth.password_reset",
            user_id=user.id,
            target_type="user",
            target_id=user.id,
        )

    async def password_reset_is_usable(self, session: AsyncSession, *, token: str) -> bool:
        """Whether a reset code would be accepted now, so a form can say so before it is
        filled in; `confirm_password_reset` checks again."""
        reset = await PasswordResetRepository(session).get_by_hash(hash_opaque_token(token))
        if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
            return False
        user = await UserRepository(session).get(reset.user_id)
        return user is not None and user.is_active

    async def confirm_password(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        settings: Settings,
        user: User,
        password: str,
        purpose: str,
    ) -> None:
        """The second factor before something sensitive (approving a payout): the signed-in
        user's password again, throttled like sign-ins; raises WrongPassword."""
        key = f"reconfirm:{user.id}"
        await throttle.reserve(
            session,
            [Limit(key, settings.login_max_failures_per_account, settings.login_failure_window)],
            refusal=lambda seconds: LoginThrottled(retry_after=seconds),
        )
        if not password or not await passwords.verify_password(
            settings, user.password_hash, password
        ):
            await audit_service.record(
                session,
                actor,
                action="auth.reconfirm_failed",
                user_id=user.id,
                data={"purpose": purpose},
            )
            raise WrongPassword()
        await throttle.clear(session, key)

    async def set_password(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        user: User,
        settings: Settings,
        new_password: str,
        keep_session: uuid.UUID | None,
    ) -> None:
        """Change a password and sign out every other session."""
        user.password_hash = await passwords.hash_password(settings, new_password)
        user.password_changed_at = utcnow()
        sessions = AuthSessionRepository(session)
        await sessions.revoke_all(
            user.id,
            reason="password_changed",
            now=user.password_changed_at,
            keep=keep_session,
        )

    async def _start_session(
        self,
        session: AsyncSession,
        client: Actor,
        user: User,
        settings: Settings,
        user_agent: str | None,
    ) -> TokenPair:
        family = await AuthSessionRepository(session).create(
            AuthSession(
                user_id=user.id,
                ip=client.ip,
                user_agent=user_agent[:USER_AGENT_MAX] if user_agent else None,
            )
        )
        return await self._issue(session, user, family, settings)

    async def _issue(
        self, session: AsyncSession, user: User, family: AuthSession, settings: Settings
    ) -> TokenPair:
        refresh_token = new_opaque_token(REFRESH_TOKEN_PREFIX)
        await RefreshTokenRepository(session).create(
            RefreshToken(
                session_id=family.id,
                token_hash=hash_opaque_token(refresh_token),
                expires_at=utcnow() + settings.refresh_token_ttl,
            )
        )
        access_token, expires_in = issue_access_token(
            settings, user_id=user.id, session_id=family.id, scopes=scopes_for(user.role)
        )
        return TokenPair(
            user_id=user.id,
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=expires_in,
        )

    async def _revoke_family(
        self, session: AsyncSession, client: Actor, family: AuthSession, *, reason: str
    ) -> None:
        await AuthSessionRepository(session).revoke(family.id, reason=reason, now=utcnow())
        await audit_service.record(
            session,
            Actor(user_id=family.user_id, ip=client.ip),
            action="auth.session_revoked",
            target_type="auth_session",
            target_id=family.id,
            data={"reason": reason},
        )


class _DummyHash:
    """A hash with the server's own cost, made once, to verify against for unknown emails."""

    def __init__(self) -> None:
        self._by_cost: dict[tuple[int, int, int], str] = {}

    def get(self, settings: Settings) -> str:
        cost = (
            settings.password_hash_time_cost,
            settings.password_hash_memory_kib,
            settings.password_hash_parallelism,
        )
        if cost not in self._by_cost:
            self._by_cost[cost] = passwords.hasher_for(settings).hash(uuid.uuid4().hex)
        return self._by_cost[cost]


_DUMMY_HASH = _DummyHash()

auth = AuthService()
