"""Routes of the authorization server.

`apps_router` and `authorizations_router` live under /api/v1 (problem+json errors). The
protocol routes (`protocol_router`) sit at the server's root, where OAuth clients look for
them, and answer with RFC 6749's JSON errors. The consent page, /oauth/authorize, is a
dashboard page (`web/pages_apps.py`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.kit.deps import ClientDep, SessionDep, SettingsDep
from gigforge.kit.errors import Unauthorized
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses
from gigforge.oauth_server.errors import AppNotFound, AuthorizationNotFound, InvalidAppSettings
from gigforge.oauth_server.protocol import HttpRequest
from gigforge.oauth_server.schemas import (
    AppCreate,
    AppCreated,
    AppRead,
    AppUpdate,
    AuthorizationRead,
)
from gigforge.oauth_server.service import ProtocolResponse, issuer_of
from gigforge.oauth_server.service import oauth_apps as oauth_app_service
from gigforge.oauth_server.service import oauth_server as oauth_server_service
from gigforge.settings import Settings

_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)


class OAuthErrorBody(BaseModel):
    """An RFC 6749 section 5.2 error, as OAuth clients expect it (not problem+json)."""

    error: str
    error_description: str | None = None


def _protocol_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The protocol endpoints answer errors in RFC 6749's JSON shape; an address the
    middleware refuses (a NUL character) still gets problem+json."""
    described = {
        400: "The request is not valid (`invalid_request`, `invalid_grant`, ...)",
        401: "The client did not authenticate (`invalid_client`)",
    }
    return {
        code: {
            "model": OAuthErrorBody,
            "description": described[code],
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for code in statuses
    }


apps_router = APIRouter(prefix="/oauth/apps", tags=["oauth_apps"])
authorizations_router = APIRouter(prefix="/oauth/authorizations", tags=["oauth_authorizations"])
protocol_router = APIRouter(tags=["oauth"])

AppsReader = Annotated[Principal, RequireScope(Scope.api_keys_read)]
AppsWriter = Annotated[Principal, RequireScope(Scope.api_keys_write)]


@apps_router.post(
    "",
    response_model=AppCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, InvalidAppSettings),
)
async def create_app(body: AppCreate, session: SessionDep, principal: AppsWriter) -> AppCreated:
    """Register a third-party app. A confidential app's `client_secret` is in this response
    only."""
    return await oauth_app_service.create(session, principal, data=body)


@apps_router.get("", response_model=Page[AppRead], responses=problem_responses(*_AUTHENTICATED))
async def list_apps(
    session: SessionDep, page: PageParamsDep, principal: AppsReader
) -> Page[AppRead]:
    items, total = await oauth_app_service.list(session, principal, page=page)
    return page_of(AppRead, items, total, page)


@apps_router.get(
    "/{app_id}", response_model=AppRead, responses=problem_responses(*_AUTHENTICATED, AppNotFound)
)
async def read_app(app_id: uuid.UUID, session: SessionDep, principal: AppsReader) -> AppRead:
    return AppRead.model_validate(await oauth_app_service.get(session, principal, app_id=app_id))


@apps_router.patch(
    "/{app_id}",
    response_model=AppRead,
    responses=problem_responses(*_AUTHENTICATED, AppNotFound, InvalidAppSettings),
)
async def update_app(
    app_id: uuid.UUID, body: AppUpdate, session: SessionDep, principal: AppsWriter
) -> AppRead:
    """Rename the app, replace its redirect URIs or the scopes it may ask for."""
    app = await oauth_app_service.update(session, principal, app_id=app_id, data=body)
    return AppRead.model_validate(app)


@apps_router.post(
    "/{app_id}/rotate-secret",
    response_model=AppCreated,
    responses=problem_responses(*_AUTHENTICATED, AppNotFound, InvalidAppSettings),
)
async def rotate_app_secret(
    app_id: uuid.UUID, session: SessionDep, principal: AppsWriter
) -> AppCreated:
    """Replace a confidential app's secret; the new one is in this response only."""
    return await oauth_app_service.rotate_secret(session, principal, app_id=app_id)


@apps_router.delete(
    "/{app_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, AppNotFound),
)
async def delete_app(app_id: uuid.UUID, session: SessionDep, principal: AppsWriter) -> None:
    """Delete the app; every grant and token it holds ends with it."""
    await oauth_app_service.delete(session, principal, app_id=app_id)


@authorizations_router.get(
    "", response_model=list[AuthorizationRead], responses=problem_responses(*_AUTHENTICATED)
)
async def list_authorizations(
    session: SessionDep, principal: AppsReader
) -> list[AuthorizationRead]:
    """The third-party apps you let act for you, with what they may do."""
    return await oauth_server_service.authorizations(session, principal)


@authorizations_router.delete(
    "/{app_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, AuthorizationNotFound),
)
async def revoke_authorization(
    app_id: uuid.UUID, session: SessionDep, principal: AppsWriter
) -> None:
    """Take an app's access away: its tokens stop working on the next request."""
    await oauth_server_service.revoke_authorization(session, principal, app_id=app_id)


async def protocol_request(request: Request, settings: Settings) -> HttpRequest:
    """The request as the protocol sees it, at its public address."""
    form = await request.form()
    return HttpRequest(
        method=request.method,
        uri=issuer_of(settings) + request.url.path,
        query=list(request.query_params.multi_items()),
        form=[(name, value) for name, value in form.multi_items() if isinstance(value, str)],
        authorization=request.headers.get("authorization"),
    )


def _json(response: ProtocolResponse) -> JSONResponse:
    status_code, body, headers = response
    kept: dict[str, Any] = {
        name: value for name, value in headers if name.lower() != "content-type"
    }
    return JSONResponse(body, status_code=status_code, headers=kept)


@protocol_router.post("/oauth/token", responses=_protocol_errors(400, 401))
async def token(
    request: Request, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> JSONResponse:
    """RFC 6749 token endpoint (form-encoded): `authorization_code` with a PKCE
    `code_verifier`, or `refresh_token` (rotated on every use)."""
    http = await protocol_request(request, settings)
    return _json(await oauth_server_service.token(session, client, settings=settings, request=http))


@protocol_router.post("/oauth/revoke", responses=_protocol_errors(400, 401))
async def revoke(
    request: Request, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> JSONResponse:
    """RFC 7009 token revocation (form-encoded `token`, optional `token_type_hint`)."""
    http = await protocol_request(request, settings)
    return _json(
        await oauth_server_service.revoke_token(session, client, settings=settings, request=http)
    )


@protocol_router.post("/oauth/introspect", responses=_protocol_errors(400, 401))
async def introspect(
    request: Request, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> JSONResponse:
    """RFC 7662 token introspection, for a confidential app about its own tokens."""
    http = await protocol_request(request, settings)
    return _json(
        await oauth_server_service.introspect(session, client, settings=settings, request=http)
    )


@protocol_router.get("/.well-known/oauth-authorization-server")
async def metadata(settings: SettingsDep) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    return oauth_server_service.metadata(settings)
