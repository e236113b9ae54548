"""Templates, security headers and the route class every dashboard page uses.

Pages answer in HTML, never problem+json: `DashboardRoute` turns a missing session into a
redirect to the sign-in page and a bad CSRF token into a 403 page, without touching the
application's API error handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, status
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gigforge.connections.models import ConnectionStatus
from gigforge.connections.service import connections as connection_service
from gigforge.kit.pagination import PageParams
from gigforge.web.session import (
    CsrfRejected,
    LoginRequired,
    Viewer,
    apply_pending_cookies,
)

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# No external assets and no inline script; htmx's inline indicator styles are turned off.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _harden(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


async def needs_attention(session: AsyncSession, viewer: Viewer) -> list[Any]:
    """Connections only the user can fix (expired or revoked grants), for the notices area."""
    rows, _ = await connection_service.list(
        session, viewer.principal, page=PageParams(limit=100, offset=0)
    )
    return [row for row in rows if row.status is ConnectionStatus.needs_reauth]


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    response = TEMPLATES.TemplateResponse(
        request, template, {"request": request, **context}, status_code=status_code
    )
    apply_pending_cookies(request, response)
    return _harden(response)


def redirect(request: Request, location: str) -> Response:
    """303 so the browser follows a POST with a GET."""
    response = RedirectResponse(location, status_code=status.HTTP_303_SEE_OTHER)
    apply_pending_cookies(request, response)
    return _harden(response)


def error_page(request: Request, status_code: int, title: str, detail: str) -> Response:
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail, "viewer": None, "notices": []},
        status_code=status_code,
    )


class DashboardRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return redirect(request, "/login?" + urlencode({"next": exc.next_path}))
            except CsrfRejected:
                return error_page(
                    request,
                    status.HTTP_403_FORBIDDEN,
                    "This form has expired",
                    "The security token of the form is missing or does not match your "
                    "session. Reload the page and try again.",
                )

        return handle
