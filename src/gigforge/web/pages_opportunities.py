"""The opportunities board: filters as a GET form, the list refreshed in place by htmx."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Form, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.connections.endpoints import ContextDep
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import NotFound
from gigforge.kit.money import major_to_minor
from gigforge.kit.pagination import PageParams, clamp_offset
from gigforge.opportunities.scan_now import scan_now as scan_now_service
from gigforge.opportunities.schemas import OpportunityFilter, Sort
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.opportunities.service import to_read
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer, safe_next

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 25
TOP_FACTORS = 3
SORT_LABELS = {
    Sort.best: "Best chance first",
    Sort.newest: "Newest first",
    Sort.oldest: "Oldest first",
    Sort.highest_budget: "Highest budget first",
    Sort.lowest_budget: "Lowest budget first",
    Sort.worst: "Lowest chance first",
}


@dataclass
class BoardQuery:
    """The filter form as typed: kept as text so a typo is shown, not answered with a 422."""

    platform: str = ""
    min_budget: str = ""
    skills: str = ""
    q: str = ""
    min_score: str = ""
    sort: str = Sort.best.value
    offset: int = 0
    errors: dict[str, str] = field(default_factory=dict)

    def criteria(self) -> tuple[OpportunityFilter, Sort]:
        min_budget_minor = None
        if self.min_budget.strip():
            try:
                amount = Decimal(self.min_budget.strip())
                if amount < 0:
                    raise InvalidOperation
                min_budget_minor = major_to_minor(amount, "USD")
            except (InvalidOperation, ValueError):
                self.errors["min_budget"] = "Enter an amount such as 500 or 99.50."
        min_score = None
        if self.min_score.strip():
            try:
                percent = float(self.min_score.strip())
                if not 0 <= percent <= 100:
                    raise ValueError
                min_score = percent / 100
            except ValueError:
                self.errors["min_score"] = "Enter a percentage from 0 to 100."
        try:
            sort = Sort(self.sort)
        except ValueError:
            sort = Sort.best
        return (
            OpportunityFilter(
                platform=self.platform.strip() or None,
                min_budget_minor=min_budget_minor,
                skills=tuple(s.strip().lower() for s in self.skills.split(",") if s.strip()),
                q=self.q.strip()[:200] or None,
                min_score=min_score,
            ),
            sort,
        )


@router.get("/opportunities")
async def board(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: CurrentViewer,
    platform: str = "",
    min_budget: str = "",
    skills: str = "",
    q: str = "",
    min_score: str = "",
    sort: str = Sort.best.value,
    offset: int = 0,
) -> Response:
    query = BoardQuery(
        platform=platform[:40],
        min_budget=min_budget[:20],
        skills=skills[:500],
        q=q[:200],
        min_score=min_score[:10],
        sort=sort,
        offset=clamp_offset(offset),
    )
    criteria, chosen_sort = query.criteria()
    rows, total = await opportunity_service.list(
        session,
        viewer.principal,
        criteria=criteria,
        sort=chosen_sort,
        page=PageParams(limit=PAGE_SIZE, offset=query.offset),
    )
    context = {
        "viewer": viewer,
        "query": query,
        "opportunities": [to_read(row) for row in rows],
        "total": total,
        "page_size": PAGE_SIZE,
        "top_factors": TOP_FACTORS,
        "sort_labels": SORT_LABELS,
        "filtered": any((platform, min_budget, skills, q, min_score)),
        "return_to": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "can_write": Scope.jobs_write in viewer.principal.scopes,
    }
    if _is_htmx(request):
        return render(request, "_opportunity_list.html", context)
    context["notices"] = await needs_attention(session, viewer, settings)
    context["scan"] = await scan_now_service.current(session, viewer.principal)
    return render(request, "opportunities.html", context)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _query_of(return_to: str) -> BoardQuery:
    """The board's filters from the address a form came from, to count what it now lists."""
    params = parse_qs(urlsplit(return_to).query)

    def first(name: str, limit: int) -> str:
        return (params.get(name) or [""])[0][:limit]

    offset = first("offset", 10)
    return BoardQuery(
        platform=first("platform", 40),
        min_budget=first("min_budget", 20),
        skills=first("skills", 500),
        q=first("q", 200),
        min_score=first("min_score", 10),
        sort=first("sort", 20) or Sort.best.value,
        offset=clamp_offset(int(offset)) if offset.isdecimal() else 0,
    )


async def _count_context(
    session: AsyncSession, viewer: Viewer, return_to: str
) -> dict[str, object]:
    query = _query_of(return_to)
    criteria, _ = query.criteria()
    total = await opportunity_service.count(session, viewer.principal, criteria=criteria)
    return {"query": query, "total": total, "page_size": PAGE_SIZE, "oob": True}


def _forbidden(request: Request) -> Response:
    return error_page(
        request,
        status.HTTP_403_FORBIDDEN,
        "Not allowed",
        "Your role can read opportunities but not change them.",
    )


def _missing(request: Request) -> Response:
    return error_page(
        request,
        status.HTTP_404_NOT_FOUND,
        "No such opportunity",
        "It does not exist or belongs to someone else.",
    )


@router.post("/opportunities/{opportunity_id}/dismiss")
async def dismiss(
    request: Request,
    opportunity_id: uuid.UUID,
    session: SessionDep,
    viewer: PostingViewer,
    return_to: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """htmx swaps the row for an Undo and updates the count in place; without script the
    board reloads at the same filters."""
    if Scope.jobs_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        row = await opportunity_service.dismiss(
            session, viewer.principal, opportunity_id=opportunity_id
        )
    except NotFound:
        return _missing(request)
    if _is_htmx(request):
        return render(
            request,
            "_dismissed.html",
            {
                "viewer": viewer,
                "item": to_read(row),
                "return_to": safe_next(return_to),
                **await _count_context(session, viewer, return_to),
            },
        )
    return redirect(request, safe_next(return_to))


@router.post("/opportunities/{opportunity_id}/restore")
async def restore(
    request: Request,
    opportunity_id: uuid.UUID,
    session: SessionDep,
    viewer: PostingViewer,
    return_to: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Undo of a dismissal: htmx puts the row back where it was."""
    if Scope.jobs_write not in viewer.principal.scopes:
        return _forbidden(request)
    try:
        row = await opportunity_service.undismiss(
            session, viewer.principal, opportunity_id=opportunity_id
        )
    except NotFound:
        return _missing(request)
    if _is_htmx(request):
        return render(
            request,
            "_restored.html",
            {
                "viewer": viewer,
                "item": to_read(row),
                "top_factors": TOP_FACTORS,
                "can_write": True,
                "return_to": safe_next(return_to),
                **await _count_context(session, viewer, return_to),
            },
        )
    return redirect(request, safe_next(return_to))


@router.post("/opportunities/scan")
async def scan_now(
    request: Request, session: SessionDep, context: ContextDep, viewer: PostingViewer
) -> Response:
    """Record a scan run and enqueue its scans for the task engine; the status fragment polls
    the run's progress, which any process can answer from the database."""
    if Scope.jobs_write not in viewer.principal.scopes:
        return _forbidden(request)
    run = await scan_now_service.start(session, viewer.principal, context=context)
    if _is_htmx(request):
        return render(request, "_scan_status.html", {"viewer": viewer, "scan": run})
    return redirect(request, "/opportunities")


@router.get("/opportunities/scan/status")
async def scan_status(request: Request, session: SessionDep, viewer: CurrentViewer) -> Response:
    """The progress fragment; when it finds the run just ended it asks the board to reload.
    Opened as a page (no htmx), it is the board, which shows the same progress."""
    if not _is_htmx(request):
        return redirect(request, "/opportunities")
    run = await scan_now_service.current(session, viewer.principal)
    response = render(request, "_scan_status.html", {"viewer": viewer, "scan": run})
    if run is not None and not run.running and request.query_params.get("polling") == "1":
        response.headers["HX-Trigger"] = "scan-finished"
    return response
