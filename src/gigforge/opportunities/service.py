"""Reading, dismissing and recording outcomes of opportunities; the matching profile."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import cast, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import NotFound
from gigforge.kit.money import major_to_minor, minor_to_major
from gigforge.kit.pagination import PageParams
from gigforge.opportunities.analysis import PRIOR, ModelWeights
from gigforge.opportunities.learning import fit
from gigforge.opportunities.models import Opportunity, OpportunityProfile
from gigforge.opportunities.repository import OpportunityRepository, ProfileRepository
from gigforge.opportunities.schemas import (
    BudgetRead,
    CCAAnalysis,
    OpportunityBrief,
    OpportunityFilter,
    OpportunityRead,
    ProfileBody,
    ProfileRead,
    Sort,
)
from gigforge.opportunities.types import MatchingProfile, Outcome

OUTCOMES = frozenset(get_args(Outcome))


def _major(amount: int | None, currency: str | None) -> Decimal | None:
    return minor_to_major(amount, currency or "USD") if amount is not None else None


def to_read(row: Opportunity) -> OpportunityRead:
    top = row.budget_max_minor if row.budget_max_minor is not None else row.budget_min_minor
    return OpportunityRead(
        id=row.id,
        external_job_id=row.external_id,
        platform=row.platform,
        title=row.title,
        url=row.url,
        budget=_major(top, row.currency),
        currency=row.currency,
        budget_detail=BudgetRead(
            kind=row.budget_kind,
            min=_major(row.budget_min_minor, row.currency),
            max=_major(row.budget_max_minor, row.currency),
            currency=row.currency,
        ),
        deadline=row.deadline,
        posted_at=row.posted_at,
        description=row.description,
        skills=row.skills,
        category=row.category,
        client=row.client,
        proposals_count=row.proposals_count,
        attribution=row.attribution,
        duplicate_of=row.duplicate_of_id,
        dismissed=row.dismissed_at is not None,
        outcome=row.outcome,
        cca_analysis=CCAAnalysis(
            complexity_score=row.complexity_score,
            success_probability=row.success_probability,
            estimated_hours=row.estimated_hours,
            fit_score=row.fit_score,
            factors=row.factors,
        ),
    )


def matching_profile(row: OpportunityProfile | None) -> MatchingProfile:
    if row is None:
        return MatchingProfile()
    return MatchingProfile(
        skills=tuple(row.skills),
        hourly_rate_minor=row.hourly_rate_minor,
        min_budget_minor=row.min_budget_minor,
        currency=row.currency,
        categories=tuple(row.categories),
        excluded_keywords=tuple(row.excluded_keywords),
        require_payment_verified=row.require_payment_verified,
        min_client_rating=row.min_client_rating,
        excluded_countries=tuple(row.excluded_countries),
    )


def weights_of(row: OpportunityProfile | None) -> ModelWeights:
    if row is None or not row.weights:
        return PRIOR
    return ModelWeights.from_mapping(row.weights)


class OpportunityService:
    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        criteria: OpportunityFilter,
        sort: Sort,
        page: PageParams,
    ) -> tuple[Sequence[Opportunity], int]:
        opportunities = OpportunityRepository(session)
        return await opportunities.paginate(
            opportunities.filtered(principal.user_id, criteria, sort), page
        )

    async def get(
        self, session: AsyncSession, principal: Principal, *, opportunity_id: uuid.UUID
    ) -> Opportunity:
        row = await OpportunityRepository(session).get_owned(principal.user_id, opportunity_id)
        if row is None:
            raise NotFound("No such opportunity")
        return row

    async def dismiss(
        self, session: AsyncSession, principal: Principal, *, opportunity_id: uuid.UUID
    ) -> Opportunity:
        row = await self.get(session, principal, opportunity_id=opportunity_id)
        if row.dismissed_at is None:
            row.dismissed_at = utcnow()
            await session.flush()
        return row

    async def undismiss(
        self, session: AsyncSession, principal: Principal, *, opportunity_id: uuid.UUID
    ) -> Opportunity:
        """Undo a dismissal: the opportunity is listed again, as it was."""
        row = await self.get(session, principal, opportunity_id=opportunity_id)
        if row.dismissed_at is not None:
            row.dismissed_at = None
            await session.flush()
        return row

    async def count(
        self, session: AsyncSession, principal: Principal, *, criteria: OpportunityFilter
    ) -> int:
        return await OpportunityRepository(session).count_filtered(principal.user_id, criteria)

    async def record_outcome(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        opportunity_id: uuid.UUID,
        outcome: Outcome,
    ) -> Opportunity:
        """Store what happened and refit the user's model on every outcome so far."""
        row = await self.get(session, principal, opportunity_id=opportunity_id)
        return await self._learn(session, principal.actor, row, outcome)

    async def learn_outcome(
        self,
        session: AsyncSession,
        *,
        user_id: uuid.UUID,
        opportunity_id: uuid.UUID,
        outcome: Outcome,
    ) -> Opportunity | None:
        """As `record_outcome`, for another domain that learnt it (a proposal won)."""
        row = await OpportunityRepository(session).get_owned(user_id, opportunity_id)
        if row is None:
            return None
        return await self._learn(session, Actor(user_id=user_id), row, outcome)

    async def _learn(
        self, session: AsyncSession, actor: Actor, row: Opportunity, outcome: Outcome
    ) -> Opportunity:
        row.outcome = outcome
        row.outcome_at = utcnow()
        await session.flush()
        history = await OpportunityRepository(session).outcomes(row.user_id)
        weights = fit(
            [
                (item.features, cast(Outcome, item.outcome))
                for item in history
                if item.outcome in OUTCOMES
            ]
        )
        profiles = ProfileRepository(session)
        profile = await profiles.for_user(row.user_id)
        if profile is None:
            profile = await profiles.create(OpportunityProfile(user_id=row.user_id))
        profile.weights = weights.as_mapping()
        profile.outcomes_learned = len(history)
        await audit_service.record(
            session,
            actor,
            action="opportunity.outcome",
            target_type="opportunity",
            target_id=row.id,
            data={"outcome": outcome},
        )
        await session.flush()
        return row

    async def brief(
        self, session: AsyncSession, *, user_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> OpportunityBrief | None:
        """The user's opportunity as other domains read it; None when it is not theirs."""
        row = await OpportunityRepository(session).get_owned(user_id, opportunity_id)
        return OpportunityBrief.model_validate(row) if row is not None else None

    async def brief_by_external_id(
        self, session: AsyncSession, *, user_id: uuid.UUID, platform: str, external_id: str
    ) -> OpportunityBrief | None:
        """The user's opportunity that a platform knows by `external_id`."""
        row = await OpportunityRepository(session).get_by_external_id(
            user_id, platform=platform, external_id=external_id
        )
        return OpportunityBrief.model_validate(row) if row is not None else None

    async def titles(
        self, session: AsyncSession, *, user_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        """The titles of the user's opportunities among `opportunity_ids`, by id."""
        return await OpportunityRepository(session).titles(user_id, opportunity_ids)

    async def profile_skills(self, session: AsyncSession, *, user_id: uuid.UUID) -> Sequence[str]:
        """The skills the user lists in their profile; empty without a profile."""
        row = await ProfileRepository(session).for_user(user_id)
        return list(row.skills) if row is not None and row.skills else []

    async def profile(self, session: AsyncSession, principal: Principal) -> ProfileRead:
        row = await ProfileRepository(session).for_user(principal.user_id)
        return _profile_read(row)

    async def put_profile(
        self, session: AsyncSession, principal: Principal, *, body: ProfileBody
    ) -> ProfileRead:
        profiles = ProfileRepository(session)
        row = await profiles.for_user(principal.user_id)
        if row is None:
            row = await profiles.create(OpportunityProfile(user_id=principal.user_id))
        row.skills = list(dict.fromkeys(body.skills))
        row.hourly_rate_minor = (
            major_to_minor(body.hourly_rate, body.currency)
            if body.hourly_rate is not None
            else None
        )
        row.min_budget_minor = (
            major_to_minor(body.min_budget, body.currency) if body.min_budget is not None else None
        )
        row.currency = body.currency
        row.categories = body.categories
        row.excluded_keywords = list(dict.fromkeys(body.excluded_keywords))
        row.require_payment_verified = body.require_payment_verified
        row.min_client_rating = body.min_client_rating
        row.excluded_countries = body.excluded_countries
        await session.flush()
        return _profile_read(row)


def _profile_read(row: OpportunityProfile | None) -> ProfileRead:
    profile = matching_profile(row)
    return ProfileRead(
        skills=list(profile.skills),
        hourly_rate=_major(profile.hourly_rate_minor, profile.currency),
        min_budget=_major(profile.min_budget_minor, profile.currency),
        currency=profile.currency,
        categories=list(profile.categories),
        excluded_keywords=list(profile.excluded_keywords),
        require_payment_verified=profile.require_payment_verified,
        min_client_rating=profile.min_client_rating,
        excluded_countries=list(profile.excluded_countries),
        outcomes_learned=row.outcomes_learned if row else 0,
        model="learned" if row is not None and row.weights else "prior",
    )


opportunities = OpportunityService()
