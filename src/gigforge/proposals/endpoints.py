"""Routes: /proposals (draft, edit, approve, withdraw, hand-off) and the seed's /jobs/accept."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, status
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.ai.deps import RouterDep
from gigforge.ai.router import BudgetExceeded, NoModelAvailable
from gigforge.certifications.errors import CertificationRequired
from gigforge.connections.endpoints import ContextDep
from gigforge.kit.deprecation import Deprecation
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import NotFound, Unauthorized, ValidationFailed
from gigforge.kit.money import InvalidAmount, minor_to_major, parse_major_units
from gigforge.kit.problems import problem_responses
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.proposals.auto_approve import CAP_CURRENCY, AutoApproveCaps
from gigforge.proposals.auto_approve import auto_approve as auto_approve_service
from gigforge.proposals.models import Proposal, ProposalStatus
from gigforge.proposals.schemas import (
    AcceptJob,
    AutoApproveBody,
    HandOffRead,
    ProposalCreate,
    ProposalRead,
    VersionCreate,
    VersionRead,
)
from gigforge.proposals.service import InvalidBidAmount, InvalidTransition, budgets_for
from gigforge.proposals.service import proposals as proposal_service

router = APIRouter(tags=["proposals"])
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
Reader = Annotated[Principal, RequireScope(Scope.jobs_read)]
Writer = Annotated[Principal, RequireScope(Scope.jobs_write)]


async def _read(session: AsyncSession, proposal: Proposal) -> ProposalRead:
    versions = await proposal_service.versions(session, proposal)
    hand_off = None
    if proposal.status is ProposalStatus.handed_off and versions:
        opportunity = await opportunity_service.brief(
            session, user_id=proposal.user_id, opportunity_id=proposal.opportunity_id
        )
        if opportunity is not None:
            hand_off = HandOffRead(url=opportunity.url, text=versions[-1].text)
    return ProposalRead(
        id=proposal.id,
        opportunity_id=proposal.opportunity_id,
        platform=proposal.platform,
        status=proposal.status,
        amount=minor_to_major(proposal.amount_minor, proposal.currency)
        if proposal.amount_minor is not None and proposal.currency
        else None,
        currency=proposal.currency,
        period_days=proposal.period_days,
        auto_approved=proposal.auto_approved,
        approved_at=proposal.approved_at,
        submitted_at=proposal.submitted_at,
        external_id=proposal.external_id,
        failure_reason=proposal.failure_reason,
        versions=[VersionRead.model_validate(version) for version in versions],
        hand_off=hand_off,
    )


_DRAFT_ERRORS = (*_AUTHENTICATED, NotFound, BudgetExceeded, NoModelAvailable)


@router.post(
    "/proposals",
    response_model=ProposalRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_DRAFT_ERRORS),
)
async def create_proposal(
    body: ProposalCreate,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    router: RouterDep,
    principal: Writer,
) -> ProposalRead:
    """Draft a proposal for an opportunity (with AI unless you give the text). Name the
    opportunity by `opportunity_id`, or by `platform` and the platform's `external_job_id`."""
    opportunity_id = body.opportunity_id
    if opportunity_id is None:
        # The schema lets only a complete platform reference through.
        assert body.platform is not None
        assert body.external_job_id is not None
        opportunity_id = await _opportunity_by_external_id(
            session, principal, platform=body.platform, external_id=body.external_job_id
        )
    proposal = await proposal_service.draft(
        session,
        principal,
        context=context,
        opportunity_id=opportunity_id,
        budgets=budgets_for(settings),
        router=router,
        text=body.text,
    )
    return await _read(session, proposal)


async def _opportunity_by_external_id(
    session: AsyncSession, principal: Principal, *, platform: str, external_id: str
) -> uuid.UUID:
    opportunity = await opportunity_service.brief_by_external_id(
        session, user_id=principal.user_id, platform=platform, external_id=external_id
    )
    if opportunity is None:
        raise NotFound("No such opportunity among yours")
    return opportunity.id


# "Accept" named won work in the seed contract, while the call only drafts a proposal; the
# /jobs paths belong to won work. The successor takes the same reference.
ACCEPT_JOB_DEPRECATED = Deprecation(
    name="POST /api/v1/jobs/accept",
    deprecated_at=datetime(2026, 12, 3, tzinfo=UTC),
    sunset_at=datetime(2027, 6, 3, tzinfo=UTC),
    successor="POST /api/v1/proposals",
    link="/redoc#tag/proposals/operation/proposals-accept_job",
    note="Send the same platform and external_job_id; custom_proposal becomes text.",
)


@router.post(
    "/jobs/accept",
    response_model=ProposalRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_DRAFT_ERRORS),
    **ACCEPT_JOB_DEPRECATED.route(),
)
async def accept_job(
    body: AcceptJob,
    session: SessionDep,
    settings: SettingsDep,
    context: ContextDep,
    router: RouterDep,
    principal: Writer,
) -> ProposalRead:
    """The seed contract's accept: a proposal for the job, submitted once you approve it.

    **Deprecated** since 2026-12-03; it answers until its sunset on 2027-06-03. Use
    `POST /api/v1/proposals` with `{"platform", "external_job_id", "text"}`: the same
    reference, with `custom_proposal` renamed `text`; the answer is the same proposal."""
    opportunity_id = await _opportunity_by_external_id(
        session, principal, platform=body.platform, external_id=body.external_job_id
    )
    proposal = await proposal_service.draft(
        session,
        principal,
        context=context,
        opportunity_id=opportunity_id,
        budgets=budgets_for(settings),
        router=router,
        text=body.custom_proposal,
    )
    return await _read(session, proposal)


@router.get(
    "/proposals", response_model=list[ProposalRead], responses=problem_responses(*_AUTHENTICATED)
)
async def list_proposals(
    session: SessionDep, principal: Reader, status_filter: ProposalStatus | None = None
) -> list[ProposalRead]:
    rows = await proposal_service.list(session, principal, status=status_filter)
    return [await _read(session, row) for row in rows]


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def read_proposal(
    proposal_id: uuid.UUID, session: SessionDep, principal: Reader
) -> ProposalRead:
    return await _read(
        session, await proposal_service.get(session, principal, proposal_id=proposal_id)
    )


@router.post(
    "/proposals/{proposal_id}/versions",
    response_model=ProposalRead,
    responses=problem_responses(
        *_AUTHENTICATED, NotFound, InvalidTransition, InvalidBidAmount, ValidationFailed
    ),
)
async def edit_proposal(
    proposal_id: uuid.UUID, body: VersionCreate, session: SessionDep, principal: Writer
) -> ProposalRead:
    """Save your edit as a new version; an approved proposal goes back to draft."""
    proposal = await proposal_service.edit(
        session,
        principal,
        proposal_id=proposal_id,
        text=body.text,
        amount=body.amount,
        period_days=body.period_days,
    )
    return await _read(session, proposal)


@router.post(
    "/proposals/{proposal_id}/approve",
    response_model=ProposalRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound, InvalidTransition),
)
async def approve_proposal(
    proposal_id: uuid.UUID, session: SessionDep, principal: Writer
) -> ProposalRead:
    """Approve the latest version: it is submitted (or handed off) by the worker."""
    proposal = await proposal_service.approve(session, principal, proposal_id=proposal_id)
    return await _read(session, proposal)


@router.post(
    "/proposals/{proposal_id}/withdraw",
    response_model=ProposalRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound, InvalidTransition),
)
async def withdraw_proposal(
    proposal_id: uuid.UUID, session: SessionDep, principal: Writer
) -> ProposalRead:
    proposal = await proposal_service.reject(session, principal, proposal_id=proposal_id)
    return await _read(session, proposal)


@router.post(
    "/proposals/{proposal_id}/mark-sent",
    response_model=ProposalRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound, InvalidTransition),
)
async def mark_sent(proposal_id: uuid.UUID, session: SessionDep, principal: Writer) -> ProposalRead:
    """You pasted a handed-off proposal on the platform yourself."""
    proposal = await proposal_service.mark_sent(session, principal, proposal_id=proposal_id)
    return await _read(session, proposal)


def _auto_approve_read(caps: AutoApproveCaps) -> AutoApproveBody:
    return AutoApproveBody(
        enabled=caps.enabled,
        max_budget=float(minor_to_major(caps.max_budget_minor, caps.currency)),
        min_score=caps.min_score,
        max_per_day=caps.max_per_day,
    )


@router.get(
    "/proposals-auto-approve",
    response_model=AutoApproveBody,
    responses=problem_responses(*_AUTHENTICATED),
)
async def get_auto_approve(session: SessionDep, principal: Reader) -> AutoApproveBody:
    """The auto-approve rule and its caps; off (`enabled: false`) until you set one."""
    return _auto_approve_read(await auto_approve_service.get(session, principal))


@router.put(
    "/proposals-auto-approve",
    response_model=AutoApproveBody,
    responses=problem_responses(*_AUTHENTICATED, ValidationFailed, CertificationRequired),
)
async def put_auto_approve(
    body: AutoApproveBody, session: SessionDep, principal: Writer
) -> AutoApproveBody:
    """Approve drafts without asking, only within these caps (budget in USD minor units of
    the listing's own currency, score, count per day). Off unless you turn it on. Changes
    are audited. Turning the rule on needs certification level 1."""
    try:
        max_budget_minor = parse_major_units(Decimal(str(body.max_budget)), CAP_CURRENCY)
    except InvalidAmount as exc:
        raise ValidationFailed(
            str(exc),
            errors=[{"loc": ["body", "max_budget"], "msg": str(exc), "type": "value_error"}],
        ) from None
    caps = await auto_approve_service.put(
        session,
        principal,
        enabled=body.enabled,
        max_budget_minor=max_budget_minor,
        min_score=body.min_score,
        max_per_day=body.max_per_day,
    )
    return _auto_approve_read(caps)
