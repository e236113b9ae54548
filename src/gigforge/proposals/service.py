"""Drafting, editing, approving and handing off proposals. Nothing is submitted unapproved."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.ai.router import Budgets, RoutedAnswer, Router, Task
from gigforge.audit.service import audit as audit_service
from gigforge.certifications.rules import AUTO_APPROVE_LEVEL
from gigforge.certifications.service import certifications as certification_service
from gigforge.connections.context import IntegrationContext
from gigforge.integrations.framework import ChatMessage
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import Conflict, NotFound, ValidationFailed
from gigforge.kit.money import InvalidAmount, format_money, parse_major_units
from gigforge.kit.outbox import publish
from gigforge.opportunities.schemas import OpportunityBrief
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.opportunities.types import budget_text
from gigforge.proposals.auto_approve import CAP_CURRENCY
from gigforge.proposals.events import ProposalApproved, ProposalSubmitted, ProposalWithdrawn
from gigforge.proposals.models import (
    AutoApproveRule,
    Proposal,
    ProposalStatus,
    ProposalVersion,
)
from gigforge.proposals.repository import ProposalRepository, ProposalVersionRepository
from gigforge.proposals.schemas import MAX_BID
from gigforge.proposals.submission import enqueue_submission
from gigforge.settings import Settings

# Which states allow which step; the dashboard offers exactly these.
EDITABLE = frozenset({ProposalStatus.draft, ProposalStatus.approved, ProposalStatus.failed})
APPROVABLE = frozenset({ProposalStatus.draft, ProposalStatus.failed})
WITHDRAWABLE = EDITABLE | {ProposalStatus.handed_off}
SYSTEM_PROMPT = (
    "You write short, specific freelance proposals. Address the client's need in the first "
    "sentence, show relevant experience from the freelancer's skills, propose a concrete first "
    "step, and never invent facts, prices or past clients. Plain text, under 180 words."
)


def budgets_for(settings: Settings) -> Budgets:
    """The AI spending caps every drafting entry point (API, dashboard, demo) applies."""
    return Budgets(
        per_task_micro_usd=settings.ai_task_budget_micro_usd,
        monthly_micro_usd=settings.ai_monthly_budget_micro_usd,
    )


class InvalidTransition(Conflict):
    code = "invalid-proposal-state"
    title = "The proposal cannot do that in its current state"


class InvalidBidAmount(ValidationFailed):
    code = "invalid-bid-amount"
    title = "The bid amount is not valid"


def bid_amount_minor(amount: Decimal | str, currency: str) -> int:
    """The one rule for a bid, wherever it is typed (API or dashboard): a positive amount in
    the proposal's currency, with no more decimals than the currency has, up to `MAX_BID`."""
    ceiling = parse_major_units(MAX_BID, currency)
    too_much = InvalidBidAmount(f"A bid can be at most {format_money(ceiling, currency)}.")
    try:
        typed = Decimal(str(amount).strip().replace(",", ""))
    except InvalidOperation:
        typed = None
    if typed is not None and typed.is_finite() and typed > MAX_BID:
        raise too_much  # said before parsing, which refuses "1e17" for its exponent
    try:
        minor = parse_major_units(amount, currency)
    except InvalidAmount as exc:
        raise InvalidBidAmount(str(exc)) from None
    if minor <= 0:
        raise InvalidBidAmount("A bid must be more than zero.")
    if minor > ceiling:
        raise too_much
    return minor


def _client_name(opportunity: OpportunityBrief) -> str | None:
    name = opportunity.client.get("name") if opportunity.client else None
    return name if isinstance(name, str) and name else None


def _matching_skills(opportunity: OpportunityBrief, profile_skills: Sequence[str]) -> list[str]:
    """The job's skills the user lists in their profile, in the job's order: what a proposal
    may claim. Without a profile, nothing is claimed."""
    if not profile_skills:
        return []
    mine = {skill.casefold() for skill in profile_skills}
    return [skill for skill in opportunity.skills if skill.casefold() in mine]


def _budget(opportunity: OpportunityBrief) -> str:
    return budget_text(
        opportunity.budget_kind,
        opportunity.budget_min_minor,
        opportunity.budget_max_minor,
        opportunity.currency,
    )


def _brief(opportunity: OpportunityBrief, profile_skills: Sequence[str], full_name: str) -> str:
    """What the model is told. The scoring reasons ("Client payment is verified", "5 proposals
    already") are internal analysis and never go into client-facing text, so they are left out."""
    budget = _budget(opportunity)
    skills = ", ".join(profile_skills) if profile_skills else "not stated"
    client = _client_name(opportunity)
    return "\n".join(
        line
        for line in (
            f"Job title: {opportunity.title}",
            f"Platform: {opportunity.platform}",
            f"Budget: {budget}" if budget else "",
            f"Job skills: {', '.join(opportunity.skills) or 'not stated'}",
            f"Job description: {opportunity.description_text[:3000]}",
            f"Client: {client}" if client else "",
            f"Freelancer: {full_name}; skills: {skills}",
        )
        if line
    )


class ProposalService:
    async def draft(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        opportunity_id: uuid.UUID,
        budgets: Budgets,
        router: Router,
        text: str | None = None,
    ) -> Proposal:
        """A first version: the user's own text, or drafted by the router (or the template
        writer, labelled as not AI, when no model can)."""
        opportunity = await opportunity_service.brief(
            session, user_id=principal.user_id, opportunity_id=opportunity_id
        )
        if opportunity is None:
            raise NotFound("No such opportunity")
        # Written before any row is added, so a refused or failed draft leaves nothing behind.
        author, not_ai, cost = "user", False, 0
        if text is None:
            answer = await self._write(session, principal, context, router, opportunity, budgets)
            text, author = answer.text, f"{answer.integration}:{answer.model}"
            not_ai, cost = answer.not_ai, answer.cost_micro_usd
        proposal = Proposal(
            user_id=principal.user_id,
            opportunity_id=opportunity.id,
            platform=opportunity.platform,
            amount_minor=opportunity.budget_max_minor or opportunity.budget_min_minor,
            currency=opportunity.currency,
            idempotency_key=uuid.uuid4().hex,
        )
        session.add(proposal)
        await session.flush()
        await self._add_version(
            session, proposal, text=text, author=author, not_ai=not_ai, cost=cost
        )
        await audit_service.record(
            session,
            principal.actor,
            action="proposal.drafted",
            target_type="proposal",
            target_id=proposal.id,
            data={"opportunity": str(opportunity.id)},
        )
        await self._maybe_auto_approve(session, principal, proposal, opportunity)
        return proposal

    async def _write(
        self,
        session: AsyncSession,
        principal: Principal,
        context: IntegrationContext,
        router: Router,
        opportunity: OpportunityBrief,
        budgets: Budgets,
    ) -> RoutedAnswer:
        profile_skills = await opportunity_service.profile_skills(
            session, user_id=principal.user_id
        )
        client_name = _client_name(opportunity)
        # A salary is the employer's offer, not a price the freelancer quotes.
        budget = _budget(opportunity) if opportunity.budget_kind != "salary" else ""
        return await router.complete(
            session,
            principal.user_id,
            context=context,
            task=Task.proposal,
            messages=[
                ChatMessage(role="system", content=SYSTEM_PROMPT),
                ChatMessage(
                    role="user",
                    content=_brief(opportunity, profile_skills, principal.user.full_name),
                ),
            ],
            budgets=budgets,
            names=[n for n in (principal.user.full_name, client_name) if n],
            max_tokens=400,
            template_variables={
                "title": opportunity.title,
                "name": principal.user.full_name,
                "client_name": client_name,
                "skills": _matching_skills(opportunity, profile_skills),
                "budget": budget or None,
            },
        )

    async def edit(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        proposal_id: uuid.UUID,
        text: str,
        amount: Decimal | str | None = None,
        period_days: int | None = None,
    ) -> Proposal:
        """A new version by the user, optionally with new terms (the bid amount, in the
        proposal's currency, as typed or parsed, checked by `bid_amount_minor`; and the delivery
        period); an approved proposal needs approving again."""
        proposal = await self.get(session, principal, proposal_id=proposal_id)
        if proposal.status not in EDITABLE:
            raise InvalidTransition(f"A {proposal.status.value} proposal cannot be edited")
        if amount is not None:
            if proposal.currency is None:
                raise InvalidTransition(
                    "The listing states no currency, so this proposal cannot carry an amount"
                )
            proposal.amount_minor = bid_amount_minor(amount, proposal.currency)
        if period_days is not None:
            proposal.period_days = period_days
        await self._add_version(session, proposal, text=text, author="user")
        proposal.status = ProposalStatus.draft
        proposal.due_at = None
        await session.flush()
        return proposal

    async def approve(
        self, session: AsyncSession, principal: Principal, *, proposal_id: uuid.UUID
    ) -> Proposal:
        proposal = await self.get(session, principal, proposal_id=proposal_id)
        if proposal.status not in APPROVABLE:
            raise InvalidTransition(f"A {proposal.status.value} proposal cannot be approved")
        await self._mark_approved(session, proposal)
        await audit_service.record(
            session,
            principal.actor,
            action="proposal.approved",
            target_type="proposal",
            target_id=proposal.id,
            data={"version": await self._latest_number(session, proposal)},
        )
        await session.flush()
        return proposal

    async def reject(
        self, session: AsyncSession, principal: Principal, *, proposal_id: uuid.UUID
    ) -> Proposal:
        proposal = await self.get(session, principal, proposal_id=proposal_id)
        if proposal.status not in WITHDRAWABLE:
            raise InvalidTransition(f"A {proposal.status.value} proposal cannot be withdrawn")
        proposal.status = ProposalStatus.withdrawn
        proposal.due_at = None
        await publish(
            session,
            ProposalWithdrawn(
                proposal_id=proposal.id,
                opportunity_id=proposal.opportunity_id,
                platform=proposal.platform,
            ),
            user_id=proposal.user_id,
        )
        await audit_service.record(
            session,
            principal.actor,
            action="proposal.withdrawn",
            target_type="proposal",
            target_id=proposal.id,
        )
        await session.flush()
        return proposal

    async def mark_sent(
        self, session: AsyncSession, principal: Principal, *, proposal_id: uuid.UUID
    ) -> Proposal:
        """The user pasted a handed-off proposal on the platform themselves."""
        proposal = await self.get(session, principal, proposal_id=proposal_id)
        if proposal.status is not ProposalStatus.handed_off:
            raise InvalidTransition("Only a handed-off proposal can be marked as sent")
        proposal.status = ProposalStatus.submitted
        proposal.submitted_at = utcnow()
        await audit_service.record(
            session,
            principal.actor,
            action="proposal.submitted",
            target_type="proposal",
            target_id=proposal.id,
            data={"via": "hand_off"},
        )
        await publish(
            session,
            ProposalSubmitted(
                proposal_id=proposal.id,
                opportunity_id=proposal.opportunity_id,
                platform=proposal.platform,
                via="hand_off",
                external_id=None,
            ),
            user_id=proposal.user_id,
        )
        await session.flush()
        return proposal

    async def mark_won(
        self, session: AsyncSession, user_id: uuid.UUID, *, proposal_id: uuid.UUID
    ) -> Proposal | None:
        """The client chose this proposal (the platform says so, an alert does, or the user):
        it is marked won and its opportunity's outcome is taught to the scorer. None when the
        proposal is not the user's or was never sent; a proposal won already is returned."""
        proposal = await ProposalRepository(session).get_owned(user_id, proposal_id)
        if proposal is None:
            return None
        if proposal.status is ProposalStatus.won:
            return proposal
        if proposal.status not in (ProposalStatus.submitted, ProposalStatus.handed_off):
            return None
        proposal.status = ProposalStatus.won
        actor = Actor(user_id=user_id)
        await audit_service.record(
            session,
            actor,
            action="proposal.won",
            user_id=user_id,
            target_type="proposal",
            target_id=proposal.id,
        )
        await opportunity_service.learn_outcome(
            session, user_id=user_id, opportunity_id=proposal.opportunity_id, outcome="won"
        )
        await session.flush()
        return proposal

    async def sent_for_opportunity(
        self, session: AsyncSession, user_id: uuid.UUID, *, opportunity_id: uuid.UUID
    ) -> Proposal | None:
        """The user's newest proposal that went out for an opportunity (an alert email names
        the project, not the proposal)."""
        proposals = ProposalRepository(session)
        return await proposals.get_one(
            proposals.scoped(user_id)
            .where(
                Proposal.opportunity_id == opportunity_id,
                Proposal.status.in_(
                    (ProposalStatus.submitted, ProposalStatus.handed_off, ProposalStatus.won)
                ),
            )
            .order_by(Proposal.created_at.desc())
        )

    async def by_external_id(
        self, session: AsyncSession, user_id: uuid.UUID, *, platform: str, external_id: str
    ) -> Proposal | None:
        """The user's proposal a platform knows by `external_id` (a bid id); the newest, should
        a platform ever reuse an id (a sandbox started afresh does)."""
        proposals = ProposalRepository(session)
        return await proposals.get_one(
            proposals.scoped(user_id)
            .where(Proposal.platform == platform, Proposal.external_id == external_id)
            .order_by(Proposal.created_at.desc())
        )

    async def get(
        self, session: AsyncSession, principal: Principal, *, proposal_id: uuid.UUID
    ) -> Proposal:
        proposal = await ProposalRepository(session).get_owned(principal.user_id, proposal_id)
        if proposal is None:
            raise NotFound("No such proposal")
        return proposal

    async def list(
        self, session: AsyncSession, principal: Principal, *, status: ProposalStatus | None
    ) -> Sequence[Proposal]:
        proposals = ProposalRepository(session)
        return await proposals.all(proposals.listed(principal.user_id, status=status).limit(200))

    async def for_opportunity(
        self, session: AsyncSession, principal: Principal, *, opportunity_id: uuid.UUID
    ) -> Sequence[Proposal]:
        """The user's proposals for one opportunity, newest first."""
        return await ProposalRepository(session).for_opportunity(principal.user_id, opportunity_id)

    async def recent_with_titles(
        self,
        session: AsyncSession,
        *,
        user_id: uuid.UUID,
        limit: int,
        states: Iterable[ProposalStatus] | None = None,
    ) -> Sequence[tuple[Proposal, str]]:
        """The user's proposals that changed last first, each with its opportunity's title."""
        rows = await ProposalRepository(session).recently_updated(
            user_id, limit=limit, states=states
        )
        titles = await opportunity_service.titles(
            session, user_id=user_id, opportunity_ids=[row.opportunity_id for row in rows]
        )
        return [(row, titles.get(row.opportunity_id, "")) for row in rows]

    async def versions(
        self, session: AsyncSession, proposal: Proposal
    ) -> Sequence[ProposalVersion]:
        return await ProposalVersionRepository(session).of(proposal.id)

    async def _add_version(
        self,
        session: AsyncSession,
        proposal: Proposal,
        *,
        text: str,
        author: str,
        not_ai: bool = False,
        cost: int = 0,
    ) -> ProposalVersion:
        version = ProposalVersion(
            proposal_id=proposal.id,
            number=await self._latest_number(session, proposal) + 1,
            text=text,
            author=author,
            not_ai=not_ai,
            cost_micro_usd=cost,
        )
        session.add(version)
        await session.flush()
        return version

    async def _latest_number(self, session: AsyncSession, proposal: Proposal) -> int:
        return await ProposalVersionRepository(session).latest_number(proposal.id)

    @staticmethod
    async def _mark_approved(
        session: AsyncSession, proposal: Proposal, *, auto_approved: bool = False
    ) -> None:
        """Approved and due now: the submission task and the event commit with the approval."""
        proposal.status = ProposalStatus.approved
        proposal.approved_at = utcnow()
        proposal.due_at = utcnow()
        proposal.failure_reason = None
        proposal.auto_approved = auto_approved
        await enqueue_submission(session, proposal)
        await publish(
            session,
            ProposalApproved(
                proposal_id=proposal.id,
                opportunity_id=proposal.opportunity_id,
                platform=proposal.platform,
                auto_approved=auto_approved,
            ),
            user_id=proposal.user_id,
        )

    async def _maybe_auto_approve(
        self,
        session: AsyncSession,
        principal: Principal,
        proposal: Proposal,
        opportunity: OpportunityBrief,
    ) -> None:
        """Approve without asking only inside the user's explicit caps."""
        rule = await session.get(AutoApproveRule, principal.user_id)
        if rule is None or not rule.enabled:
            return
        # The rule stays as the user set it, but acts only while its level is held.
        if await certification_service.level_of(session, principal.user_id) < AUTO_APPROVE_LEVEL:
            return
        top = opportunity.budget_max_minor or opportunity.budget_min_minor or 0
        today = utcnow() - timedelta(days=1)
        approved_today = await ProposalRepository(session).count_auto_approved_since(
            principal.user_id, today
        )
        # The cap is in CAP_CURRENCY; with no exchange rate here, a budget in another currency
        # cannot be compared with it, so such a proposal waits for the user.
        comparable = top == 0 or opportunity.currency == CAP_CURRENCY
        if (
            comparable
            and top <= rule.max_budget_minor
            and opportunity.success_probability >= rule.min_score
            and approved_today < rule.max_per_day
        ):
            await self._mark_approved(session, proposal, auto_approved=True)
            await audit_service.record(
                session,
                Actor(user_id=principal.user_id),
                action="proposal.auto_approved",
                target_type="proposal",
                target_id=proposal.id,
                data={"max_budget_minor": rule.max_budget_minor, "min_score": rule.min_score},
            )
            await session.flush()


proposals = ProposalService()
