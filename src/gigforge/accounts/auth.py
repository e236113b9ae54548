"""Authentication and permission dependencies: `CurrentPrincipal`, `RequireScope(...)`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from gigforge.accounts.api_keys_service import api_keys as api_key_service
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import AuthSessionRepository
from gigforge.accounts.scopes import Scope
from gigforge.accounts.tokens import API_KEY_PREFIX, decode_access_token
from gigforge.kit.deps import SessionDep, SettingsDep, client_ip
from gigforge.kit.errors import Unauthorized

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
    if credential.startswith(API_KEY_PREFIX) or bearer is None:
        return await api_key_service.authenticate(session, credential, ip=ip)
    claims = decode_access_token(settings, credential)
    user = await AuthSessionRepository(session).get_active_with_user(
        claims.session_id, claims.user_id
    )
    if user is None:
        raise InvalidToken("The session has ended; sign in again")
    return Principal(user=user, scopes=claims.scopes, session_id=claims.session_id, ip=ip)


async def _principal(
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("Send `Authorization: Bearer <token>` or `X-API-Key: gf_...`")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]
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
