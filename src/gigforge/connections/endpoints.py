"""Routes of /connections: connect by key or OAuth, list, test, change and remove."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from gigforge.accounts.auth import OptionalPrincipal, RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.connections.context import IntegrationContext, OAuthNotConfigured
from gigforge.connections.schemas import (
    AuthorizeRead,
    ConnectionCreate,
    ConnectionRead,
    ConnectionTestRead,
    ConnectionUpdate,
    OAuthCallback,
)
from gigforge.connections.service import (
    OAUTH_STATE_TTL,
    ConnectionExists,
    ConnectionTestFailed,
    InvalidOAuthState,
    OAuthFlowRefused,
    RedirectUriRefused,
    oauth_callback_url,
)
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import UnknownIntegration
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import BadRequest, NotFound, Unauthorized
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import accepts_html_first, problem_responses
from gigforge.settings import Settings

router = APIRouter(prefix="/connections", tags=["connections"])

_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
_CALLBACK_REFUSALS = (InvalidOAuthState, Unauthorized, InvalidToken, OAuthFlowRefused)

# Holds the nonce of an OAuth flow in the browser (or client) that started it; sent only to
# that flow's callback path, and only for as long as the flow lives.
OAUTH_NONCE_COOKIE = "gigforge_oauth_nonce"


def set_oauth_nonce(response: Response, settings: Settings, *, path: str, nonce: str) -> None:
    """Lax, so the provider's top-level redirect back still carries it."""
    response.set_cookie(
        OAUTH_NONCE_COOKIE,
        nonce,
        max_age=int(OAUTH_STATE_TTL.total_seconds()),
        path=path,
        secure=settings.public_url.lower().startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def clear_oauth_nonce(response: Response, settings: Settings, *, path: str) -> None:
    response.delete_cookie(
        OAUTH_NONCE_COOKIE,
        path=path,
        secure=settings.public_url.lower().startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def api_callback_path(settings: Settings, slug: str) -> str:
    return urlsplit(oauth_callback_url(settings.public_url, slug)).path


def dashboard_callback_path(slug: str) -> str:
    """Where a browser finishes a flow: the dashboard page that knows its cookie session."""
    return f"/connections/{slug}/callback"


def get_context(request: Request) -> IntegrationContext:
    context: IntegrationContext = request.app.state.integrations
    return context


ContextDep = Annotated[IntegrationContext, Depends(get_context)]
Reader = Annotated[Principal, RequireScope(Scope.connections_read)]
Writer = Annotated[Principal, RequireScope(Scope.connections_write)]


class AuthorizationDenied(BadRequest):
    code = "authorization-denied"
    title = "The provider did not authorize the connection"


@router.get("", response_model=Page[ConnectionRead], responses=problem_responses(*_AUTHENTICATED))
async def list_connections(
    session: SessionDep, page: PageParamsDep, principal: Reader
) -> Page[ConnectionRead]:
    items, total = await connection_service.list(session, principal, page=page)
    return page_of(ConnectionRead, items, total, page)


@router.post(
    "",
    response_model=ConnectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        *_AUTHENTICATED, UnknownIntegration, ConnectionTestFailed, ConnectionExists, BadRequest
    ),
)
async def create_connection(
    body: ConnectionCreate, session: SessionDep, context: ContextDep, principal: Writer
) -> ConnectionRead:
    """Connect with an API key or token. The integration's own test call must succeed before
    anything is stored; secret fields go to the vault and are never shown again."""
    connection = await connection_service.create(session, principal, context=context, data=body)
    return ConnectionRead.model_validate(connection)


@router.get(
    "/{slug}/authorize",
    response_model=AuthorizeRead,
    responses={
        302: {"description": "Redirect to the provider's consent page"},
        **problem_responses(
            *_AUTHENTICATED, UnknownIntegration, OAuthNotConfigured, RedirectUriRefused, BadRequest
        ),
    },
)
async def authorize(
    slug: str,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    principal: Writer,
    name: Annotated[str, Query(min_length=1, max_length=100)] = "default",
    redirect_uri: Annotated[
        str | None,
        Query(max_length=500, description="Only this server's own callback URL is accepted"),
    ] = None,
    redirect: bool = True,
) -> AuthorizeRead | RedirectResponse:
    """Start OAuth 2.0 (authorization code with PKCE S256). With `redirect=false` the URL is
    returned instead, for clients that open the browser themselves.

    The answer sets an HttpOnly cookie scoped to the callback: the callback must come back
    with it, from the same signed-in user, or it is refused. Browsers are best started from
    the dashboard (`POST /connections/{slug}/authorize`), which lands back on its pages."""
    start = await connection_service.start_oauth(
        session, principal, context=context, slug=slug, name=name, redirect_uri=redirect_uri
    )
    path = api_callback_path(settings, slug)
    if redirect:
        redirected = RedirectResponse(start.authorize_url, status_code=status.HTTP_302_FOUND)
        set_oauth_nonce(redirected, settings, path=path, nonce=start.nonce)
        return redirected
    set_oauth_nonce(response, settings, path=path, nonce=start.nonce)
    return AuthorizeRead(authorize_url=start.authorize_url)


@router.get(
    "/{slug}/callback",
    response_model=ConnectionRead,
    responses={
        303: {"description": "A browser is sent on to the dashboard to finish there"},
        **problem_responses(*_CALLBACK_REFUSALS, ConnectionTestFailed, AuthorizationDenied),
    },
)
async def oauth_callback(
    slug: str,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    principal: OptionalPrincipal,
    state: Annotated[str, Query(min_length=8, max_length=512)],
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> ConnectionRead | RedirectResponse:
    """Where the provider sends the browser back.

    A browser (no API credentials, asking for HTML) goes on to the dashboard, which finishes
    the flow with its cookie session and shows the outcome on the Connections page. An API
    client finishes here: it must send the cookie set by `authorize` and the credentials of
    the user who started the flow."""
    if principal is None and accepts_html_first(request.headers.get("accept")):
        target = f"{dashboard_callback_path(slug)}?{request.url.query}"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    if error is not None or code is None:
        raise AuthorizationDenied(f"The provider answered: {error or 'no code'}")
    connection = await connection_service.complete_oauth(
        session,
        principal,
        context=context,
        slug=slug,
        code=code,
        state=state,
        nonce=request.cookies.get(OAUTH_NONCE_COOKIE),
    )
    clear_oauth_nonce(response, settings, path=api_callback_path(settings, slug))
    return ConnectionRead.model_validate(connection)


@router.post(
    "/{slug}/callback",
    response_model=ConnectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_CALLBACK_REFUSALS, InsufficientScope, ConnectionTestFailed),
)
async def oauth_callback_relay(
    slug: str,
    body: OAuthCallback,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    principal: Writer,
) -> ConnectionRead:
    """The same, for a client that caught the redirect itself: with the starting user's
    credentials and the cookie `authorize` set."""
    connection = await connection_service.complete_oauth(
        session,
        principal,
        context=context,
        slug=slug,
        code=body.code,
        state=body.state,
        nonce=request.cookies.get(OAUTH_NONCE_COOKIE),
    )
    clear_oauth_nonce(response, settings, path=api_callback_path(settings, slug))
    return ConnectionRead.model_validate(connection)


@router.get(
    "/{connection_id}",
    response_model=ConnectionRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def read_connection(
    connection_id: uuid.UUID, session: SessionDep, principal: Reader
) -> ConnectionRead:
    connection = await connection_service.get(session, principal, connection_id=connection_id)
    return ConnectionRead.model_validate(connection)


@router.patch(
    "/{connection_id}",
    response_model=ConnectionRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound, ConnectionExists),
)
async def update_connection(
    connection_id: uuid.UUID,
    body: ConnectionUpdate,
    session: SessionDep,
    context: ContextDep,
    principal: Writer,
) -> ConnectionRead:
    """Rename, re-order in fallback chains, enable, disable or reconfigure; takes effect on the
    next call in every process."""
    connection = await connection_service.update(
        session, principal, context=context, connection_id=connection_id, data=body
    )
    return ConnectionRead.model_validate(connection)


@router.delete(
    "/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def delete_connection(
    connection_id: uuid.UUID, session: SessionDep, principal: Writer
) -> None:
    await connection_service.delete(session, principal, connection_id=connection_id)


@router.post(
    "/{connection_id}/test",
    response_model=ConnectionTestRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound, ConnectionTestFailed),
)
async def test_connection(
    connection_id: uuid.UUID, session: SessionDep, context: ContextDep, principal: Writer
) -> ConnectionTestRead:
    """Run the integration's test call with the stored credentials."""
    details = await connection_service.test(
        session, principal, context=context, connection_id=connection_id
    )
    return ConnectionTestRead(ok=True, details=details)
