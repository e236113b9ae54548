"""Connections: what the user has connected (test, rename, enable, remove, fallback order),
and the catalog to connect more, including integrations this server ships but has not enabled.

OAuth integrations start here: the provider returns the browser to the API's callback, which
sends it on to this page's callback; that finishes the flow as the signed-in viewer (with the
nonce cookie set when it started) and lands on the Connections page with the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.connections.context import IntegrationContext
from gigforge.connections.endpoints import (
    OAUTH_NONCE_COOKIE,
    AuthorizationDenied,
    ContextDep,
    clear_oauth_nonce,
    dashboard_callback_path,
    set_oauth_nonce,
)
from gigforge.connections.models import Connection
from gigforge.connections.ordering import Direction
from gigforge.connections.ordering import fallback_order as fallback_order_service
from gigforge.connections.schemas import ConnectionCreate, ConnectionUpdate
from gigforge.connections.service import ConnectionTestFailed
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import AuthMode, Capability
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError, ValidationFailed
from gigforge.kit.pagination import PageParams
from gigforge.web.forms import config_from_form, fields_of
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

NAME_MAX = 100


def _is_oauth(entry: dict[str, Any]) -> bool:
    return AuthMode.oauth2_authorization_code.value in {str(m) for m in entry["auth_modes"]}


@dataclass(frozen=True)
class ConnectionView:
    """A connection as the page shows it: by its integration's name, not its slug."""

    row: Connection
    title: str


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    message: str


def integration_title(context: IntegrationContext, slug: str) -> str:
    try:
        return context.spec_for(slug).title
    except GigforgeError:
        unavailable = context.registry.unavailable_one(slug)
        return unavailable.spec.title if unavailable is not None else slug


def _view(context: IntegrationContext, row: Connection) -> ConnectionView:
    return ConnectionView(row=row, title=integration_title(context, row.integration))


# What a failed check says, by the kind of failure: never the provider's own answer body.
_TEST_FAILURES = {
    "integration-auth-expired": "{title} refused the stored credentials. Connect it again.",
    "integration-rate-limited": "{title} asked us to slow down. Try the check again later.",
    "integration-transient": "{title} did not answer properly just now. Try again later.",
    "integration-unavailable": (
        "Calls to {title} are paused after repeated failures. Try again in a few minutes."
    ),
    "integration-not-supported": "{title} offers no check for connections.",
    "integration-destination-not-allowed": (
        "{title} points at a private or local address, which is not allowed; an admin can "
        "allow it with GIGFORGE_ALLOWED_PRIVATE_HOSTS."
    ),
}


def failed_check(title: str, exc: GigforgeError) -> str:
    """One plain sentence for a failed test."""
    cause = str(exc.extensions.get("cause") or "")
    if cause in _TEST_FAILURES:
        return _TEST_FAILURES[cause].format(title=title)
    upstream = exc.extensions.get("upstream_status")
    if cause == "integration-rejected" and upstream:
        return f"{title} refused the check (HTTP {upstream}). Check the settings or reconnect."
    if isinstance(exc, ConnectionTestFailed):
        return f"{title} did not accept the connection."
    return exc.title


async def _page(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    context: IntegrationContext,
    *,
    problem: GigforgeError | None = None,
    problem_slug: str | None = None,
    connected: str | None = None,
    flow_problem: str | None = None,
    problem_connection: uuid.UUID | None = None,
    outcome: TestOutcome | None = None,
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
    chains = await fallback_order_service.chains(session, viewer.principal, context=context)
    return render(
        request,
        "connections.html",
        {
            "viewer": viewer,
            "notices": await needs_attention(session, viewer, context.settings),
            "connections": [_view(context, row) for row in rows],
            "total": total,
            "catalog": catalog,
            "unavailable": context.registry.unavailable(),
            "chains": [
                (chain.capability, [_view(context, row) for row in chain.connections])
                for chain in chains
            ],
            "problem": problem,
            "problem_slug": problem_slug,
            "connected": connected,
            "flow_problem": flow_problem,
            "problem_connection": problem_connection,
            "outcome": outcome,
            "outcome_connection": problem_connection,
            "can_write": Scope.connections_write in viewer.principal.scopes,
            "name_max": NAME_MAX,
            "capability_labels": CAPABILITY_LABELS,
        },
        status_code=status_code,
    )


@router.get("/connections")
async def connections_page(
    request: Request,
    session: SessionDep,
    context: ContextDep,
    viewer: CurrentViewer,
    connected: uuid.UUID | None = None,
) -> Response:
    """`connected` names a connection an OAuth flow just made, to say so at the top."""
    message = None
    if connected is not None:
        try:
            row = await connection_service.get(session, viewer.principal, connection_id=connected)
            message = f"Connected {context.spec_for(row.integration).title} ({row.name})."
        except GigforgeError:
            message = None
    return await _page(request, session, viewer, context, connected=message)


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
    """Start OAuth as the cookie's user. The provider returns to the API's callback, which
    sends the browser on to `oauth_callback` below; the nonce cookie waits for it there."""
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        start = await connection_service.start_oauth(
            session, viewer.principal, context=context, slug=slug, name=name.strip() or "default"
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
    response = redirect(request, start.authorize_url)
    set_oauth_nonce(response, settings, path=dashboard_callback_path(slug), nonce=start.nonce)
    return response


@router.get("/connections/{slug}/callback")
async def oauth_callback(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    viewer: CurrentViewer,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
) -> Response:
    """Finish OAuth as the signed-in viewer, with the nonce cookie `authorize` set in this
    browser. Success lands on the Connections page; a refusal is shown there in words."""
    try:
        if error is not None or not code:
            raise AuthorizationDenied(
                "The provider did not give access"
                + (f" ({error[:100]})." if error else ".")
                + " Nothing was connected; you can try again."
            )
        connection = await connection_service.complete_oauth(
            session,
            viewer.principal,
            context=context,
            slug=slug,
            code=code[:2048],
            state=state[:512],
            nonce=request.cookies.get(OAUTH_NONCE_COOKIE),
        )
    except GigforgeError as exc:
        # Refusals come before anything is used up, so the flow's owner can still finish it.
        return await _page(
            request,
            session,
            viewer,
            context,
            flow_problem=exc.detail or exc.title,
            status_code=exc.status_code,
        )
    response = redirect(request, f"/connections?connected={connection.id}")
    clear_oauth_nonce(response, settings, path=dashboard_callback_path(slug))
    return response


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


CAPABILITY_LABELS = {
    "llm": "AI models",
    "marketplace": "Marketplaces",
    "job_feed": "Job feeds",
}


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _missing(request: Request) -> Response:
    return error_page(
        request,
        status.HTTP_404_NOT_FOUND,
        "No such connection",
        "It does not exist or belongs to someone else.",
    )


def _changed(connection_id: uuid.UUID) -> str:
    return f"/connections#connection-{connection_id}"


@router.post("/connections/{connection_id}/test")
async def test_connection(
    request: Request,
    connection_id: uuid.UUID,
    session: SessionDep,
    context: ContextDep,
    viewer: PostingViewer,
) -> Response:
    """Run the provider's check with the stored credentials; htmx swaps the connection's row
    for one showing the result and the new "last checked" time."""
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        row = await connection_service.get(session, viewer.principal, connection_id=connection_id)
    except GigforgeError:
        return _missing(request)
    title = integration_title(context, row.integration)
    try:
        await connection_service.test(
            session, viewer.principal, context=context, connection_id=connection_id
        )
        outcome = TestOutcome(True, f"{title} accepted the connection.")
    except GigforgeError as exc:
        outcome = TestOutcome(False, failed_check(title, exc))
    if _is_htmx(request):
        return render(
            request,
            "_connection_row.html",
            {
                "viewer": viewer,
                "connection": _view(context, row),
                "outcome": outcome,
                "outcome_connection": row.id,
                "can_write": True,
                "name_max": NAME_MAX,
            },
        )
    return await _page(
        request, session, viewer, context, outcome=outcome, problem_connection=row.id
    )


async def _update(
    request: Request,
    session: AsyncSession,
    context: IntegrationContext,
    viewer: Viewer,
    connection_id: uuid.UUID,
    data: ConnectionUpdate,
) -> Response:
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        await connection_service.update(
            session, viewer.principal, context=context, connection_id=connection_id, data=data
        )
    except GigforgeError as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            return _missing(request)
        return await _page(
            request,
            session,
            viewer,
            context,
            problem=exc,
            problem_connection=connection_id,
            status_code=exc.status_code,
        )
    return redirect(request, _changed(connection_id))


@router.post("/connections/{connection_id}/rename")
async def rename_connection(
    request: Request,
    connection_id: uuid.UUID,
    session: SessionDep,
    context: ContextDep,
    viewer: PostingViewer,
    name: Annotated[str, Form()] = "",
) -> Response:
    wanted = name.strip()
    if not wanted or len(wanted) > NAME_MAX:
        problem = ValidationFailed(
            f"A connection name has 1 to {NAME_MAX} characters"
            + (f"; this one has {len(wanted)}." if wanted else ".")
        )
        return await _page(
            request,
            session,
            viewer,
            context,
            problem=problem,
            problem_connection=connection_id,
            status_code=problem.status_code,
        )
    return await _update(
        request, session, context, viewer, connection_id, ConnectionUpdate(name=wanted)
    )


@router.post("/connections/{connection_id}/enabled")
async def enable_connection(
    request: Request,
    connection_id: uuid.UUID,
    session: SessionDep,
    context: ContextDep,
    viewer: PostingViewer,
    enabled: Annotated[str, Form()] = "",
) -> Response:
    """Disabled connections stay stored but no chain, scan or call uses them."""
    if enabled not in {"true", "false"}:
        return error_page(
            request,
            status.HTTP_400_BAD_REQUEST,
            "Nothing to change",
            "Use the Enable or Disable button on the connections page.",
        )
    return await _update(
        request,
        session,
        context,
        viewer,
        connection_id,
        ConnectionUpdate(enabled=enabled == "true"),
    )


@router.post("/connections/{connection_id}/remove")
async def remove_connection(
    request: Request,
    connection_id: uuid.UUID,
    session: SessionDep,
    viewer: PostingViewer,
) -> Response:
    """The second step of removing: the first is the confirmation on the page."""
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        await connection_service.delete(session, viewer.principal, connection_id=connection_id)
    except GigforgeError:
        return _missing(request)
    return redirect(request, "/connections")


@router.post("/connections/{connection_id}/move")
async def move_connection(
    request: Request,
    connection_id: uuid.UUID,
    session: SessionDep,
    context: ContextDep,
    viewer: PostingViewer,
    capability: Annotated[str, Form()] = "",
    direction: Annotated[str, Form()] = "",
) -> Response:
    """Up or down in one capability's fallback order."""
    if Scope.connections_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        chosen = Capability(capability)
        way = Direction(direction)
    except ValueError:
        return error_page(
            request,
            status.HTTP_400_BAD_REQUEST,
            "Nothing to move",
            "Use the Move up or Move down buttons of a fallback order.",
        )
    try:
        await fallback_order_service.move(
            session,
            viewer.principal,
            context=context,
            connection_id=connection_id,
            capability=chosen,
            direction=way,
        )
    except GigforgeError as exc:
        if exc.status_code == status.HTTP_404_NOT_FOUND:
            return _missing(request)
        return error_page(request, exc.status_code, exc.title, exc.detail or exc.title)
    return redirect(request, "/connections#fallback-" + chosen.value)
