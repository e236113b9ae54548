"""Authentication and permission dependencies: `CurrentPrincipal`, `RequireScope(...)`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.api_keys_service import LAST_USED_RESOLUTION
from gigforge.accounts.api_keys_service import api_keys as api_key_service
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.models import APIKey, User
from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import AuthSessionRepository, UserRepository
from gigforge.accounts.scopes import Scope, scopes_for
from gigforge.accounts.sign_in_cache import SignInCache
from gigforge.accounts.tokens import (
    API_KEY_PREFIX,
    AccessClaims,
    decode_access_token,
    hash_opaque_token,
)
from gigforge.kit.deps import SessionDep, SettingsDep, client_ip
from gigforge.kit.errors import Unauthorized
from gigforge.kit.ratelimit import charge_principal
from gigforge.oauth_server.service import ACCESS_TOKEN_PREFIX as OAUTH_ACCESS_TOKEN_PREFIX
from gigforge.oauth_server.service import oauth_server as oauth_server_service

_bearer = HTTPBearer(auto_error=False, description="An access token or a `gf_` API key")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="A `gf_` API key")


async def _optional_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal | None:
    ip = client_ip(request)
    credential = bearer.credentials if bearer is not None else api_key
    if credential is None:
        if request.headers.get("authorization"):
            raise InvalidToken("The Authorization header must be `Bearer <token>`")
        return None
    if bearer is not None and credential.startswith(OAUTH_ACCESS_TOKEN_PREFIX):
        return await _oauth_principal(session, credential, ip=ip)
    cache = _sign_ins(request)
    if credential.startswith(API_KEY_PREFIX) or bearer is None:
        return await _api_key_principal(session, cache, credential, ip=ip)
    claims = cache.claims(credential)
    if claims is None:
        claims = decode_access_token(settings, credential)
        cache.remember_claims(credential, claims)
    user = await _live_user(session, cache, claims)
    return Principal(user=user, scopes=claims.scopes, session_id=claims.session_id, ip=ip)


def _sign_ins(request: Request) -> SignInCache:
    """The app's cache of checked sign-ins, made on first use: one per process and database."""
    cache: SignInCache | None = getattr(request.app.state, "sign_ins", None)
    if cache is None:
        cache = SignInCache.for_database(request.app.state.settings.effective_database_url)
        request.app.state.sign_ins = cache
    return cache


async def _live_user(session: AsyncSession, cache: SignInCache, claims: AccessClaims) -> User:
    """The signed-in user, if the session is live: from the cache while nothing was committed
    since it was last checked, otherwise one query."""
    credential = (claims.session_id, claims.user_id)
    checked = cache.checked(credential)
    if checked is not None:
        return await session.merge(checked.user, load=False)
    stamp = cache.stamp()
    user = await AuthSessionRepository(session).get_active_with_user(
        claims.session_id, claims.user_id
    )
    if user is None:
        raise InvalidToken("The session has ended; sign in again")
    cache.remember(credential, user, stamp=stamp)
    return user


async def _oauth_principal(session: AsyncSession, token: str, *, ip: str | None) -> Principal:
    """A third-party app's access token: checked against the database on every request, so a
    revoked grant stops working at once. Its scopes are cut to what the user's role grants."""
    grant = await oauth_server_service.authenticate(session, token)
    user = None if grant is None else await UserRepository(session).get(grant.user_id)
    if grant is None or user is None or not user.is_active:
        raise InvalidToken("The access token is invalid, expired or revoked")
    role_scopes = frozenset(scope.value for scope in scopes_for(user.role))
    return Principal(
        user=user, scopes=grant.scopes & role_scopes, oauth_grant_id=grant.grant_id, ip=ip
    )


async def _api_key_principal(
    session: AsyncSession, cache: SignInCache, raw_key: str, *, ip: str | None
) -> Principal:
    """An API key's principal: from the cache while nothing was committed since the key was
    last checked, until it expires or its last use is due to be written again."""
    key_hash = hash_opaque_token(raw_key)
    checked = cache.checked(key_hash)
    if checked is not None:
        user = await session.merge(checked.user, load=False)
        return Principal(user=user, scopes=checked.scopes, api_key_id=checked.api_key_id, ip=ip)
    stamp = cache.stamp()
    principal = await api_key_service.authenticate(session, raw_key, ip=ip)
    key = await session.get(APIKey, principal.api_key_id)  # in the identity map: no query
    if key is None or key.last_used_at is None:
        return principal
    fresh_until = key.last_used_at + LAST_USED_RESOLUTION
    if key.expires_at is not None:
        fresh_until = min(fresh_until, key.expires_at)
    cache.remember(
        key_hash,
        principal.user,
        stamp=stamp,
        scopes=principal.scopes,
        api_key_id=principal.api_key_id,
        fresh_until=fresh_until,
    )
    return principal


async def _rate_limited_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal | None:
    """The caller, once their rate limit (`kit.ratelimit`) lets this request through."""
    if principal is not None:
        await charge_principal(request, principal.rate_limit_key)
    return principal


async def _principal(
    principal: Annotated[Principal | None, Depends(_rate_limited_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("Send `Authorization: Bearer <token>` or `X-API-Key: gf_...`")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_rate_limited_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_principal)]


class _ScopeCheck:
    def __init__(self, scopes: tuple[Scope, ...]) -> None:
        self.scopes = scopes

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        missing = [scope.value for scope in self.scopes if scope.value not in principal.scopes]
        if missing:
            raise InsufficientScope(f"Requires scope {', '.join(missing)}")
        return principal


def RequireScope(*scopes: Scope) -> Any:
    """`principal: Annotated[Principal, RequireScope(Scope.jobs_write)]`."""
    return Depends(_ScopeCheck(scopes))
