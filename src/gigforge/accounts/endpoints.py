"""Routes of the accounts API: /auth, /users and /api-keys."""

from __future__ import annotations

import uuid
from typing import Annotated

import structlog
from fastapi import APIRouter, BackgroundTasks, Header, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.api_keys_service import api_keys as api_key_service
from gigforge.accounts.auth import OptionalPrincipal, RequireScope
from gigforge.accounts.errors import (
    CurrentPasswordIncorrect,
    EmailTaken,
    InsufficientScope,
    InvalidCredentials,
    InvalidToken,
    LastAdmin,
    LoginThrottled,
    RefreshTokenReused,
    RegistrationClosed,
    RegistrationThrottled,
    WeakPassword,
)
from gigforge.accounts.models import User
from gigforge.accounts.principal import Principal
from gigforge.accounts.profile import ProfileFactsCache
from gigforge.accounts.schemas import (
    Accepted,
    APIKeyCreate,
    APIKeyCreated,
    APIKeyRead,
    LoginRequest,
    LogoutRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserAdminUpdate,
    UserRead,
    UserStats,
    UserUpdate,
)
from gigforge.accounts.scopes import Scope
from gigforge.accounts.service import auth as auth_service
from gigforge.accounts.users_service import users as user_service
from gigforge.kit.deps import ClientDep, SessionDep, SettingsDep
from gigforge.kit.email import EmailDeliveryError, EmailMessage, EmailSender
from gigforge.kit.errors import NotFound, Unauthorized, ValidationFailed
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses

logger = structlog.get_logger("gigforge.accounts")

UserAgent = Annotated[str | None, Header(include_in_schema=False)]
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)

auth_router = APIRouter(prefix="/auth", tags=["auth"])
users_router = APIRouter(prefix="/users", tags=["users"])
api_keys_router = APIRouter(prefix="/api-keys", tags=["api_keys"])


@auth_router.post(
    "/register",
    response_model=TokenPair,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        EmailTaken, WeakPassword, RegistrationClosed, RegistrationThrottled
    ),
)
async def register(
    body: RegisterRequest,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user_agent: UserAgent = None,
) -> TokenPair:
    """Create an account and sign in. The first account on a server becomes its admin.
    Sign-ups per client address are limited (429, Retry-After)."""
    return await auth_service.register(
        session,
        client,
        settings=settings,
        email=body.email,
        password=body.password,
        full_name=body.full_name,
        user_agent=user_agent,
    )


@auth_router.post(
    "/login",
    response_model=TokenPair,
    responses=problem_responses(InvalidCredentials, LoginThrottled),
)
async def login(
    body: LoginRequest,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    user_agent: UserAgent = None,
) -> TokenPair:
    """Sign in with email and password; repeated failures are throttled (429, Retry-After)."""
    return await auth_service.login(
        session,
        client,
        settings=settings,
        email=body.email,
        password=body.password,
        user_agent=user_agent,
    )


@auth_router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problem_responses(InvalidToken, RefreshTokenReused),
)
async def refresh(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once; reusing one
    signs the whole session out."""
    return await auth_service.refresh(
        session, client, settings=settings, refresh_token=body.refresh_token
    )


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(InvalidToken),
)
async def logout(
    session: SessionDep,
    client: ClientDep,
    principal: OptionalPrincipal,
    body: LogoutRequest | None = None,
) -> None:
    """End the session named by the refresh token in the body or by the access token."""
    await auth_service.logout(
        session,
        principal,
        client=client,
        refresh_token=body.refresh_token if body is not None else None,
    )


async def send_reset_email(sender: EmailSender, message: EmailMessage) -> None:
    """Run after the response: a delivery failure is logged, never shown, so the answer
    stays the same whether or not the account exists."""
    try:
        await sender.send(message)
    except EmailDeliveryError as exc:
        logger.error("password_reset.email_failed", error=exc.detail)


@auth_router.post(
    "/reset-password",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
)
async def request_password_reset(
    body: PasswordResetRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    background: BackgroundTasks,
) -> Accepted:
    """Email a single-use reset code. The answer is the same whether the account exists."""
    message = await auth_service.request_password_reset(
        session, client, settings=settings, email=body.email
    )
    if message is not None:
        background.add_task(send_reset_email, request.app.state.email_sender, message)
    return Accepted(detail="If an account uses this email, a reset code is on its way.")


@auth_router.post(
    "/reset-password/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(InvalidToken, WeakPassword),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> None:
    """Set a new password with the emailed code; every session of the account ends."""
    await auth_service.confirm_password_reset(
        session, client, settings=settings, token=body.token, new_password=body.new_password
    )


def _profile_facts(request: Request) -> ProfileFactsCache:
    """The app's cache of profile facts, made on first use: one per process and database."""
    cache: ProfileFactsCache | None = getattr(request.app.state, "profile_facts", None)
    if cache is None:
        cache = ProfileFactsCache.for_database(request.app.state.settings.effective_database_url)
        request.app.state.profile_facts = cache
    return cache


async def _user_read(request: Request, session: AsyncSession, user: User) -> UserRead:
    """The account with the facts other domains own (`accounts.profile`)."""
    facts = await _profile_facts(request).of(session, user.id)
    return UserRead.model_validate(user).model_copy(update=facts)


@users_router.get("/me", response_model=UserRead, responses=problem_responses(*_AUTHENTICATED))
async def read_me(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, RequireScope(Scope.users_read)],
) -> UserRead:
    return await _user_read(request, session, principal.user)


@users_router.patch(
    "/me",
    response_model=UserRead,
    responses=problem_responses(
        *_AUTHENTICATED, EmailTaken, WeakPassword, CurrentPasswordIncorrect, ValidationFailed
    ),
)
async def update_me(
    request: Request,
    body: UserUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, RequireScope(Scope.users_write)],
) -> UserRead:
    """Change the name; changing the email or password needs `current_password`."""
    user = await user_service.update_me(session, principal, settings=settings, update=body)
    return await _user_read(request, session, user)


@users_router.get(
    "/me/stats", response_model=UserStats, responses=problem_responses(*_AUTHENTICATED)
)
async def read_my_stats(
    session: SessionDep, principal: Annotated[Principal, RequireScope(Scope.users_read)]
) -> UserStats:
    return await user_service.stats(session, principal)


@users_router.get("", response_model=Page[UserRead], responses=problem_responses(*_AUTHENTICATED))
async def list_users(
    request: Request,
    session: SessionDep,
    page: PageParamsDep,
    principal: Annotated[Principal, RequireScope(Scope.admin)],
) -> Page[UserRead]:
    """Every account on the server (admins only)."""
    items, total = await user_service.list(session, principal, page=page)
    listed = page_of(UserRead, [], total, page)
    listed.items = [await _user_read(request, session, user) for user in items]
    return listed


@users_router.patch(
    "/{user_id}",
    response_model=UserRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound, LastAdmin),
)
async def admin_update_user(
    request: Request,
    user_id: uuid.UUID,
    body: UserAdminUpdate,
    session: SessionDep,
    principal: Annotated[Principal, RequireScope(Scope.admin)],
) -> UserRead:
    """Change an account's role or deactivate it (admins only)."""
    user = await user_service.admin_update(session, principal, user_id=user_id, update=body)
    return await _user_read(request, session, user)


@api_keys_router.post(
    "",
    response_model=APIKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, ValidationFailed),
)
async def create_api_key(
    body: APIKeyCreate,
    session: SessionDep,
    principal: Annotated[Principal, RequireScope(Scope.api_keys_write)],
) -> APIKeyCreated:
    """Create a key with some of your scopes. The key is shown in this response only."""
    return await api_key_service.create(session, principal, data=body)


@api_keys_router.get(
    "", response_model=Page[APIKeyRead], responses=problem_responses(*_AUTHENTICATED)
)
async def list_api_keys(
    session: SessionDep,
    page: PageParamsDep,
    principal: Annotated[Principal, RequireScope(Scope.api_keys_read)],
) -> Page[APIKeyRead]:
    items, total = await api_key_service.list(session, principal, page=page)
    return page_of(APIKeyRead, items, total, page)


@api_keys_router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def revoke_api_key(
    key_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, RequireScope(Scope.api_keys_write)],
) -> None:
    await api_key_service.revoke(session, principal, key_id=key_id)
