"""Connections: what the user has connected, and the catalog to connect more.

OAuth integrations start here and finish at the API's callback, which answers with the new
connection as JSON. Sending the browser back to the dashboard afterwards needs the OAuth
state to carry a return address; that belongs to the connections domain and comes later.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.connections.context import IntegrationContext
from gigforge.connections.endpoints import ContextDep
from gigforge.connections.schemas import ConnectionCreate
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import AuthMode
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import PageParams
from gigforge.web.forms import config_from_form, fields_of
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

NAME_MAX = 100


def _is_oauth(entry: dict[str, Any]) -> bool:
    return AuthMode.oauth2_authorization_code.value in {str(m) for m in entry["auth_modes"]}


async def _page(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    context: IntegrationContext,
    *,
    problem: GigforgeError | None = None,
    problem_slug: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    rows, total = await connection_service.list(
        session, viewer.principal, page=PageParams(limit=100, offset=0)
    )
    catalog = []
    for spec in context.registry.specs():
        entry = spec.catalog_entry()
        catalog.append(
            {
                "entry": entry,
                "oauth": _is_oauth(entry),
                "fields": [] if _is_oauth(entry) else fields_of(entry["config_schema"]),
            }
        )
    return render(
        request,
        "connections.html",
        {
            "viewer": viewer,
            "notices": await needs_attention(session, viewer, context.settings),
            "connections": rows,
            "total": total,
            "catalog": catalog,
            "problem": problem,
            "problem_slug": problem_slug,
            "can_write": Scope.connections_write in viewer.principal.scopes,
        },
        status_code=status_code,
    )


@router.get("/connections")
async def connections_page(
    request: Request, session: SessionDep, context: ContextDep, viewer: CurrentViewer
) -> Response:
    return await _page(request, session, viewer, context)


def _forbidden(request: Request) -> Response:
    return error_page(
        request,
        status.HTTP_403_FORBIDDEN,
        "Not allowed",
        "Your role can see connections but not add them.",
    )


@router.post("/connections/{slug}/authorize")
async def authorize(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    viewer: PostingViewer,
    name: Annotated[str, Form(max_length=NAME_MAX)] = "default",
) -> Response:
    """Start OAuth as the cookie's user; the provider returns to the API's callback."""
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        url = await connection_service.start_oauth(
            session,
            viewer.principal,
            context=context,
            slug=slug,
            name=name.strip() or "default",
            redirect_uri=f"{settings.public_url}/api/v1/connections/{slug}/callback",
        )
    except GigforgeError as exc:
        return await _page(
            request,
            session,
            viewer,
            context,
            problem=exc,
            problem_slug=slug,
            status_code=exc.status_code,
        )
    return redirect(request, url)


@router.post("/connections/{slug}")
async def connect(
    request: Request,
    slug: str,
    session: SessionDep,
    context: ContextDep,
    viewer: PostingViewer,
) -> Response:
    """Connect with the fields of the integration's config schema; the service runs the
    provider's test call first and its problem detail is shown beside the form on failure."""
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    form = await request.form()
    raw_name = form.get("name")
    name = (raw_name.strip() if isinstance(raw_name, str) else "") or "default"
    try:
        spec = context.spec_for(slug)
        data = ConnectionCreate(
            integration=slug,
            name=name[:NAME_MAX],
            config=config_from_form(spec.catalog_entry()["config_schema"], form),
        )
        await connection_service.create(session, viewer.principal, context=context, data=data)
    except GigforgeError as exc:
        return await _page(
            request,
            session,
            viewer,
            context,
            problem=exc,
            problem_slug=slug,
            status_code=exc.status_code,
        )
    return redirect(request, "/connections")
