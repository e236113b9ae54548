"""Routes of /connections: connect by key or OAuth, list, test, change and remove."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import RedirectResponse

from gigforge.accounts.auth import RequireScope
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
    ConnectionExists,
    ConnectionTestFailed,
    InvalidOAuthState,
)
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import UnknownIntegration
from gigforge.kit.deps import ClientDep, SessionDep, SettingsDep
from gigforge.kit.errors import BadRequest, NotFound, Unauthorized
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses

router = APIRouter(prefix="/connections", tags=["connections"])

_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)


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
        **problem_responses(*_AUTHENTICATED, UnknownIntegration, OAuthNotConfigured, BadRequest),
    },
)
async def authorize(
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    principal: Writer,
    name: Annotated[str, Query(min_length=1, max_length=100)] = "default",
    redirect_uri: Annotated[str | None, Query(max_length=500)] = None,
    redirect: bool = True,
) -> AuthorizeRead | RedirectResponse:
    """Start OAuth 2.0 (authorization code with PKCE S256). With `redirect=false` the URL is
    returned instead, for clients that open the browser themselves (`gigforge connect`)."""
    url = await connection_service.start_oauth(
        session,
        principal,
        context=context,
        slug=slug,
        name=name,
        redirect_uri=redirect_uri or f"{settings.public_url}/api/v1/connections/{slug}/callback",
    )
    if redirect:
        return RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    return AuthorizeRead(authorize_url=url)


@router.get(
    "/{slug}/callback",
    response_model=ConnectionRead,
    responses=problem_responses(InvalidOAuthState, ConnectionTestFailed, AuthorizationDenied),
)
async def oauth_callback(
    slug: str,
    session: SessionDep,
    context: ContextDep,
    client: ClientDep,
    state: Annotated[str, Query(min_length=8, max_length=512)],
    code: Annotated[str | None, Query(max_length=2048)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> ConnectionRead:
    """Where the provider sends the browser back. The `state` identifies the user."""
    if error is not None or code is None:
        raise AuthorizationDenied(f"The provider answered: {error or 'no code'}")
    connection = await connection_service.complete_oauth(
        session, client, context=context, slug=slug, code=code, state=state
    )
    return ConnectionRead.model_validate(connection)


@router.post(
    "/{slug}/callback",
    response_model=ConnectionRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(InvalidOAuthState, ConnectionTestFailed),
)
async def oauth_callback_relay(
    slug: str, body: OAuthCallback, session: SessionDep, context: ContextDep, client: ClientDep
) -> ConnectionRead:
    """The same, for a client that caught the redirect itself (a local callback server)."""
    connection = await connection_service.complete_oauth(
        session, client, context=context, slug=slug, code=body.code, state=body.state
    )
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
