"""Templates, security headers and the route class every dashboard page uses.

Pages answer in HTML, never problem+json: `DashboardRoute` turns a missing session into a
redirect to the sign-in page and a bad CSRF token into a 403 page, without touching the
application's API error handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, status
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import RedirectResponse, Response

from gigforge.ai.service import ai_usage as ai_usage_service
from gigforge.connections.models import ConnectionStatus
from gigforge.connections.service import connections as connection_service
from gigforge.kit.clock import utcnow
from gigforge.kit.pagination import PageParams
from gigforge.proposals.models import ProposalStatus
from gigforge.proposals.service import proposals as proposal_service
from gigforge.settings import Settings
from gigforge.web.formatting import MONEY_FILTERS
from gigforge.web.session import (
    CsrfRejected,
    LoginRequired,
    Viewer,
    apply_pending_cookies,
)
from gigforge.webhooks.service import webhooks as webhook_service

MAX_PROPOSAL_NOTICES = 5
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters.update(MONEY_FILTERS)  # money, money_minor, budget: one format

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


@dataclass(frozen=True)
class Notice:
    """Something only the user can fix, shown at the top of every page until it is fixed."""

    text: str
    href: str
    action: str


async def needs_attention(
    session: AsyncSession, viewer: Viewer, settings: Settings
) -> list[Notice]:
    """Expired or revoked grants, failed submissions, hand-offs waiting to be pasted, and a
    spent monthly AI budget: each with the page that fixes it."""
    user_id = viewer.principal.user_id
    now = utcnow()
    notices = []
    connections, _ = await connection_service.list(
        session, viewer.principal, page=PageParams(limit=100, offset=0)
    )
    for row in connections:
        if row.status is ConnectionStatus.needs_reauth:
            notices.append(
                Notice(
                    f"{row.integration} ({row.name}) needs you to sign in again"
                    + (f": {row.last_error}" if row.last_error else "."),
                    "/connections",
                    "Reconnect",
                )
            )
        elif row.quota_reached_until is not None and row.quota_reached_until > now:
            notices.append(
                Notice(
                    f"{row.integration} ({row.name}) has used its whole quota"
                    + (f" ({row.quota_limit})" if row.quota_limit else "")
                    + f"; its calls wait until {row.quota_reached_until:%H:%M} UTC"
                    + (
                        f" on {row.quota_reached_until:%d %b}."
                        if row.quota_reached_until.date() != now.date()
                        else "."
                    ),
                    "/connections",
                    "See connections",
                )
            )
    waiting = await proposal_service.recent_with_titles(
        session,
        user_id=user_id,
        limit=MAX_PROPOSAL_NOTICES,
        states=(ProposalStatus.failed, ProposalStatus.handed_off),
    )
    for proposal, title in waiting:
        proposal_id, state, reason = proposal.id, proposal.status, proposal.failure_reason
        if state is ProposalStatus.failed:
            notices.append(
                Notice(
                    f"The proposal for \u201c{title}\u201d could not be submitted: "
                    f"{reason or 'no reason was given'}.",
                    f"/proposals/{proposal_id}",
                    "Review it",
                )
            )
        else:
            notices.append(
                Notice(
                    f"The proposal for \u201c{title}\u201d is ready for you to send on the "
                    "platform.",
                    f"/proposals/{proposal_id}",
                    "Send it",
                )
            )
    for endpoint in await webhook_service.disabled_by_failures(session, viewer.principal):
        notices.append(
            Notice(
                f"The webhook endpoint {endpoint.url} was disabled: {endpoint.disabled_reason}.",
                f"/settings/webhooks/{endpoint.id}",
                "Fix it",
            )
        )
    budget = settings.ai_monthly_budget_micro_usd
    if await ai_usage_service.spent_this_month(session, user_id) >= budget:
        notices.append(
            Notice(
                "This month's AI budget is spent: drafting with AI is refused until the 1st, "
                "or until the budget is raised (ai_monthly_budget_micro_usd).",
                "/proposals",
                "See proposals",
            )
        )
    return notices


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
