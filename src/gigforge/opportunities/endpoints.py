"""Routes: /jobs/opportunities (the seed contract's listing) and /users/me/profile."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import NotFound, Unauthorized
from gigforge.kit.money import major_to_minor
from gigforge.kit.pagination import PageParamsDep
from gigforge.kit.problems import problem_responses
from gigforge.opportunities.schemas import (
    FilterAmount,
    OpportunityFilter,
    OpportunityList,
    OpportunityRead,
    OutcomeBody,
    ProfileBody,
    ProfileRead,
    Sort,
)
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.opportunities.service import to_read

router = APIRouter(prefix="/jobs/opportunities", tags=["opportunities"])
profile_router = APIRouter(prefix="/users/me/profile", tags=["opportunities"])

_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
Reader = Annotated[Principal, RequireScope(Scope.jobs_read)]
Writer = Annotated[Principal, RequireScope(Scope.jobs_write)]
Amount = Annotated[FilterAmount | None, Query(ge=0, le=1_000_000_000)]


@router.get("", response_model=OpportunityList, responses=problem_responses(*_AUTHENTICATED))
async def list_opportunities(
    session: SessionDep,
    page: PageParamsDep,
    principal: Reader,
    platform: Annotated[str | None, Query(max_length=40)] = None,
    min_budget: Amount = None,
    max_budget: Amount = None,
    skills: Annotated[
        str | None, Query(max_length=500, description="Comma-separated; any of them matches")
    ] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in title or text")] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    posted_after: datetime | None = None,
    sort: Sort = Sort.newest,
    include_dismissed: bool = False,
    include_duplicates: bool = False,
) -> OpportunityList:
    """Opportunities found for you, scored. Budgets compare in each listing's own currency
    (no exchange rates); `min_score` filters on `success_probability`."""
    criteria = OpportunityFilter(
        platform=platform,
        min_budget_minor=major_to_minor(min_budget, "USD") if min_budget is not None else None,
        max_budget_minor=major_to_minor(max_budget, "USD") if max_budget is not None else None,
        skills=tuple(s.strip().lower() for s in (skills or "").split(",") if s.strip()),
        q=q.strip() if q and q.strip() else None,
        min_score=min_score,
        posted_after=posted_after,
        include_dismissed=include_dismissed,
        include_duplicates=include_duplicates,
    )
    rows, total = await opportunity_service.list(
        session, principal, criteria=criteria, sort=sort, page=page
    )
    return OpportunityList(
        opportunities=[to_read(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/{opportunity_id}",
    response_model=OpportunityRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def read_opportunity(
    opportunity_id: uuid.UUID, session: SessionDep, principal: Reader
) -> OpportunityRead:
    row = await opportunity_service.get(session, principal, opportunity_id=opportunity_id)
    return to_read(row)


@router.post(
    "/{opportunity_id}/dismiss",
    response_model=OpportunityRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def dismiss_opportunity(
    opportunity_id: uuid.UUID, session: SessionDep, principal: Writer
) -> OpportunityRead:
    """Hide it from the default listing (it stays for dedupe and history)."""
    row = await opportunity_service.dismiss(session, principal, opportunity_id=opportunity_id)
    return to_read(row)


@router.post(
    "/{opportunity_id}/restore",
    response_model=OpportunityRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def restore_opportunity(
    opportunity_id: uuid.UUID, session: SessionDep, principal: Writer
) -> OpportunityRead:
    """Undo a dismissal: it is listed again (restoring one that is not dismissed is a no-op)."""
    row = await opportunity_service.undismiss(session, principal, opportunity_id=opportunity_id)
    return to_read(row)


@router.post(
    "/{opportunity_id}/outcome",
    response_model=OpportunityRead,
    responses=problem_responses(*_AUTHENTICATED, NotFound),
)
async def record_outcome(
    opportunity_id: uuid.UUID, body: OutcomeBody, session: SessionDep, principal: Writer
) -> OpportunityRead:
    """Won, lost or ignored: the scoring model is refit on your outcomes."""
    row = await opportunity_service.record_outcome(
        session, principal, opportunity_id=opportunity_id, outcome=body.outcome
    )
    return to_read(row)


@profile_router.get("", response_model=ProfileRead, responses=problem_responses(*_AUTHENTICATED))
async def read_profile(session: SessionDep, principal: Reader) -> ProfileRead:
    """Your matching preferences (defaults until you set them)."""
    return await opportunity_service.profile(session, principal)


@profile_router.put("", response_model=ProfileRead, responses=problem_responses(*_AUTHENTICATED))
async def put_profile(body: ProfileBody, session: SessionDep, principal: Writer) -> ProfileRead:
    return await opportunity_service.put_profile(session, principal, body=body)
