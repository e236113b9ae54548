"""Opportunity detail, the proposal editor and the approval queue.

The pages call the same `ProposalService` as the API: drafting goes through the model router,
every approval is audited, and nothing leaves the machine until the worker picks up an
approved proposal. While a proposal is on its way out its page polls a tiny status endpoint
(htmx, no inline script) and reloads itself when the state changes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.ai.deps import RouterDep
from gigforge.connections.endpoints import ContextDep
from gigforge.jobs.service import jobs as job_service
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError, NotFound
from gigforge.kit.money import minor_to_major
from gigforge.kit.sanitize import safe_html
from gigforge.opportunities.models import Opportunity
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.opportunities.service import to_read
from gigforge.opportunities.types import Outcome
from gigforge.proposals.models import Proposal, ProposalStatus, ProposalVersion
from gigforge.proposals.service import (
    APPROVABLE,
    EDITABLE,
    WITHDRAWABLE,
    InvalidBidAmount,
    bid_amount_minor,
    budgets_for,
)
from gigforge.proposals.service import proposals as proposal_service
from gigforge.settings import Settings
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

MAX_TEXT = 10_000
STATE_LABELS = {
    ProposalStatus.draft: "Waiting for your approval",
    ProposalStatus.approved: "Approved, going out",
    ProposalStatus.submitting: "Submitting",
    ProposalStatus.submitted: "Submitted",
    ProposalStatus.handed_off: "Ready for you to send",
    ProposalStatus.failed: "Not submitted",
    ProposalStatus.withdrawn: "Withdrawn",
    ProposalStatus.won: "Won",
}
# The approval queue, most urgent first.
QUEUE_SECTIONS = (
    ("Needs you", (ProposalStatus.failed, ProposalStatus.handed_off)),
    ("Waiting for your approval", (ProposalStatus.draft,)),
    ("Going out", (ProposalStatus.approved, ProposalStatus.submitting)),
    ("Sent", (ProposalStatus.submitted,)),
    ("Won", (ProposalStatus.won,)),
    ("Withdrawn", (ProposalStatus.withdrawn,)),
)
IN_FLIGHT = frozenset({ProposalStatus.approved, ProposalStatus.submitting})
# Sent proposals the user may mark won on a platform Gigforge cannot read awards from.
WINNABLE = frozenset({ProposalStatus.submitted, ProposalStatus.handed_off})
POLL_SECONDS = 2
# What the user can record about a job, as the buttons and the recorded line say it.
OUTCOME_LABELS: dict[Outcome, tuple[str, str]] = {
    "won": ("Won", "You won this job."),
    "lost": ("Lost", "You did not win this job."),
    "ignored": ("Not pursued", "You let this one go."),
}


@dataclass
class EditForm:
    """The editor's fields as typed, so a mistake is shown next to its field, not lost."""

    text: str
    amount: str
    period_days: str
    errors: dict[str, str] = field(default_factory=dict)

    def parsed(self, currency: str | None) -> tuple[str | None, int | None]:
        """The amount as typed and the period, once checked; mistakes land in `errors`. The
        amount is held to the API's rule (`bid_amount_minor`), which the service applies too."""
        if not self.text.strip():
            self.errors["text"] = "The proposal needs some text."
        elif len(self.text) > MAX_TEXT:
            self.errors["text"] = (
                f"The text is {len(self.text):,} characters; keep it to {MAX_TEXT:,} or fewer."
            )
        amount = None
        if self.amount.strip() and currency is not None:
            amount = self.amount.strip()
            try:
                bid_amount_minor(amount, currency)
            except InvalidBidAmount as exc:
                self.errors["amount"] = exc.detail
        period = None
        if self.period_days.strip():
            try:
                period = int(self.period_days.strip())
                if not 1 <= period <= 365:
                    raise ValueError
            except ValueError:
                self.errors["period_days"] = "Enter a whole number of days from 1 to 365."
        return amount, period


@dataclass(frozen=True)
class Page:
    """What every handler here renders with: the request, its session and the viewer."""

    request: Request
    session: AsyncSession
    settings: Settings
    viewer: Viewer

    @property
    def can_write(self) -> bool:
        return Scope.jobs_write in self.viewer.principal.scopes


async def _reading(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: CurrentViewer
) -> Page:
    return Page(request, session, settings, viewer)


async def _posting(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: PostingViewer
) -> Page:
    return Page(request, session, settings, viewer)


ReadingPage = Annotated[Page, Depends(_reading)]
PostingPage = Annotated[Page, Depends(_posting)]


def _amount_text(proposal: Proposal) -> str:
    if proposal.amount_minor is None or proposal.currency is None:
        return ""
    return str(minor_to_major(proposal.amount_minor, proposal.currency))


def _forbidden(page: Page) -> Response:
    return error_page(
        page.request,
        status.HTTP_403_FORBIDDEN,
        "Not allowed",
        "Your role can read proposals but not change them.",
    )


def _missing(page: Page, what: str) -> Response:
    return error_page(
        page.request,
        status.HTTP_404_NOT_FOUND,
        f"No such {what}",
        "It does not exist or belongs to someone else.",
    )


async def _opportunity(page: Page, opportunity_id: uuid.UUID) -> Opportunity | None:
    try:
        return await opportunity_service.get(
            page.session, page.viewer.principal, opportunity_id=opportunity_id
        )
    except NotFound:
        return None


async def _opportunity_page(
    page: Page,
    opportunity: Opportunity,
    *,
    problem: str | None = None,
    outcome_problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return render(
        page.request,
        "opportunity.html",
        {
            "viewer": page.viewer,
            "notices": await needs_attention(page.session, page.viewer, page.settings),
            "item": to_read(opportunity),
            "description": safe_html(opportunity.description),
            "proposals": await proposal_service.for_opportunity(
                page.session, page.viewer.principal, opportunity_id=opportunity.id
            ),
            "state_labels": STATE_LABELS,
            "outcome_labels": OUTCOME_LABELS,
            "outcome_at": opportunity.outcome_at,
            "can_write": page.can_write,
            "problem": problem,
            "outcome_problem": outcome_problem,
        },
        status_code=status_code,
    )


@router.get("/opportunities/{opportunity_id}")
async def opportunity_page(opportunity_id: uuid.UUID, page: ReadingPage) -> Response:
    row = await _opportunity(page, opportunity_id)
    if row is None:
        return _missing(page, "opportunity")
    return await _opportunity_page(page, row)


@router.post("/opportunities/{opportunity_id}/proposals")
async def draft(
    opportunity_id: uuid.UUID, page: PostingPage, context: ContextDep, router: RouterDep
) -> Response:
    """Draft with the model router (or the template writer, labelled as not AI)."""
    if not page.can_write:
        return _forbidden(page)
    row = await _opportunity(page, opportunity_id)
    if row is None:
        return _missing(page, "opportunity")
    try:
        proposal = await proposal_service.draft(
            page.session,
            page.viewer.principal,
            context=context,
            opportunity_id=row.id,
            budgets=budgets_for(page.settings),
            router=router,
        )
    except GigforgeError as exc:
        return await _opportunity_page(page, row, problem=exc.detail, status_code=exc.status_code)
    return redirect(page.request, f"/proposals/{proposal.id}")


@router.post("/opportunities/{opportunity_id}/outcome")
async def record_outcome(
    opportunity_id: uuid.UUID,
    page: PostingPage,
    outcome: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Won, lost or not pursued, as the API records it: the scoring model is refit on it."""
    if not page.can_write:
        return _forbidden(page)
    row = await _opportunity(page, opportunity_id)
    if row is None:
        return _missing(page, "opportunity")
    if outcome not in OUTCOME_LABELS:
        return await _opportunity_page(
            page,
            row,
            outcome_problem="Choose won, lost or not pursued.",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    await opportunity_service.record_outcome(
        page.session, page.viewer.principal, opportunity_id=row.id, outcome=outcome
    )
    return redirect(page.request, f"/opportunities/{row.id}")


@router.get("/proposals")
async def queue(page: ReadingPage) -> Response:
    rows = await proposal_service.recent_with_titles(
        page.session, user_id=page.viewer.principal.user_id, limit=500
    )
    sections = [
        (title, [(proposal, name) for proposal, name in rows if proposal.status in states])
        for title, states in QUEUE_SECTIONS
    ]
    return render(
        page.request,
        "proposals.html",
        {
            "viewer": page.viewer,
            "notices": await needs_attention(page.session, page.viewer, page.settings),
            "sections": sections,
            "total": len(rows),
            "state_labels": STATE_LABELS,
        },
    )


async def _editor(
    page: Page,
    proposal: Proposal,
    *,
    form: EditForm | None = None,
    problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    opportunity = await opportunity_service.get(
        page.session, page.viewer.principal, opportunity_id=proposal.opportunity_id
    )
    versions: Sequence[ProposalVersion] = await proposal_service.versions(page.session, proposal)
    latest = versions[-1]
    context: dict[str, Any] = {
        "viewer": page.viewer,
        "notices": await needs_attention(page.session, page.viewer, page.settings),
        "proposal": proposal,
        "item": to_read(opportunity),
        "versions": list(reversed(versions)),
        "latest": latest,
        "form": form
        or EditForm(
            text=latest.text,
            amount=_amount_text(proposal),
            period_days=str(proposal.period_days or ""),
        ),
        "state_label": STATE_LABELS[proposal.status],
        "editable": proposal.status in EDITABLE,
        "approvable": proposal.status in APPROVABLE,
        "withdrawable": proposal.status in WITHDRAWABLE,
        "in_flight": proposal.status in IN_FLIGHT,
        "winnable": proposal.status in WINNABLE,
        "job": await job_service.for_proposal(page.session, proposal.id),
        "poll_seconds": POLL_SECONDS,
        "text_limit": MAX_TEXT,
        "can_write": page.can_write,
        "problem": problem,
    }
    return render(page.request, "proposal.html", context, status_code=status_code)


async def _owned(page: Page, proposal_id: uuid.UUID) -> Proposal | None:
    try:
        return await proposal_service.get(
            page.session, page.viewer.principal, proposal_id=proposal_id
        )
    except NotFound:
        return None


@router.get("/proposals/{proposal_id}")
async def editor(proposal_id: uuid.UUID, page: ReadingPage) -> Response:
    proposal = await _owned(page, proposal_id)
    if proposal is None:
        return _missing(page, "proposal")
    return await _editor(page, proposal)


@router.get("/proposals/{proposal_id}/status")
async def state(proposal_id: uuid.UUID, page: ReadingPage, shown: str = "") -> Response:
    """For the polling page: 204 while nothing changed, a full reload once it has."""
    proposal = await _owned(page, proposal_id)
    if proposal is None:
        return _missing(page, "proposal")
    if proposal.status.value == shown:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return Response(status_code=status.HTTP_200_OK, headers={"HX-Refresh": "true"})


@router.post("/proposals/{proposal_id}/versions")
async def save_version(
    proposal_id: uuid.UUID,
    page: PostingPage,
    text: Annotated[str, Form(max_length=MAX_TEXT * 2)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    period_days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if not page.can_write:
        return _forbidden(page)
    proposal = await _owned(page, proposal_id)
    if proposal is None:
        return _missing(page, "proposal")
    form = EditForm(text=text, amount=amount, period_days=period_days)
    new_amount, new_period = form.parsed(proposal.currency)
    if form.errors:
        return await _editor(
            page, proposal, form=form, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    try:
        await proposal_service.edit(
            page.session,
            page.viewer.principal,
            proposal_id=proposal.id,
            text=text.strip(),
            amount=new_amount,
            period_days=new_period,
        )
    except GigforgeError as exc:
        return await _editor(
            page, proposal, form=form, problem=exc.detail, status_code=exc.status_code
        )
    return redirect(page.request, f"/proposals/{proposal.id}")


async def _transition(page: Page, proposal_id: uuid.UUID, action: str) -> Response:
    """Approve, withdraw or mark sent; a refused transition is explained on the editor."""
    if not page.can_write:
        return _forbidden(page)
    proposal = await _owned(page, proposal_id)
    if proposal is None:
        return _missing(page, "proposal")
    act = {
        "approve": proposal_service.approve,
        "withdraw": proposal_service.reject,
        "mark-sent": proposal_service.mark_sent,
    }[action]
    try:
        await act(page.session, page.viewer.principal, proposal_id=proposal.id)
    except GigforgeError as exc:
        return await _editor(page, proposal, problem=exc.detail, status_code=exc.status_code)
    return redirect(page.request, f"/proposals/{proposal.id}")


@router.post("/proposals/{proposal_id}/approve")
async def approve(proposal_id: uuid.UUID, page: PostingPage) -> Response:
    return await _transition(page, proposal_id, "approve")


@router.post("/proposals/{proposal_id}/withdraw")
async def withdraw(proposal_id: uuid.UUID, page: PostingPage) -> Response:
    return await _transition(page, proposal_id, "withdraw")


@router.post("/proposals/{proposal_id}/mark-sent")
async def mark_sent(proposal_id: uuid.UUID, page: PostingPage) -> Response:
    return await _transition(page, proposal_id, "mark-sent")


@router.post("/proposals/{proposal_id}/won")
async def mark_won(proposal_id: uuid.UUID, page: PostingPage) -> Response:
    """The client chose it: a job is made, pending the user's acceptance on its page."""
    if not page.can_write:
        return _forbidden(page)
    proposal = await _owned(page, proposal_id)
    if proposal is None:
        return _missing(page, "proposal")
    try:
        job = await job_service.won_from_proposal(
            page.session,
            page.viewer.principal.user_id,
            proposal_id=proposal.id,
            source="marked_won",
        )
    except GigforgeError as exc:
        return await _editor(page, proposal, problem=exc.detail, status_code=exc.status_code)
    return redirect(page.request, f"/jobs/{job.id}")
