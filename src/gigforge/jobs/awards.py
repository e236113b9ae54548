"""Reading awards from the marketplaces that have an API for them, and accepting one.

The scheduler enqueues `jobs.plan_award_checks` every CHECK_EVERY; it enqueues one
`jobs.check_awards` per active connection whose integration reads awards (`Winning`:
Freelancer.com's bids' `award_status`, Upwork's offers and contracts). A check calls the
platform with no transaction open, then, in one unit of work, makes a job for each award on one
of the user's sent proposals (once: a job is unique per proposal) and keeps the cursor.

Accepting is the user's decision: `JobService.accept` enqueues `jobs.accept_award`, which
accepts through the API and starts the job when the platform agreed. An award the platform no
longer offers (revoked, or taken back) leaves the job pending with the reason audited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import IntegrationError, RateLimited, Transient, Unavailable
from gigforge.integrations.framework.capabilities import Award, Winning
from gigforge.jobs.models import AwardCheck, Job
from gigforge.jobs.service import WonWork
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import enqueue
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.proposals.service import proposals as proposal_service

logger = structlog.get_logger("gigforge.jobs")

PLAN_TASK = "jobs.plan_award_checks"
CHECK_TASK = "jobs.check_awards"
CHECK_EVERY = timedelta(minutes=5)
WON = frozenset({"awarded", "accepted"})


class AcceptDeferred(Exception):
    """The platform could not take the acceptance now; the task tries again after its backoff."""


def reads_awards(context: IntegrationContext) -> set[str]:
    """The integrations whose connectors read awards."""
    return {
        spec.slug
        for spec in context.registry.specs()
        if issubclass(context.registry.get(spec.slug), Winning)
    }


async def plan_checks(context: IntegrationContext) -> int:
    """One award check per active connection that reads awards, per period."""
    period = int(utcnow().timestamp() // CHECK_EVERY.total_seconds())
    async with unit_of_work(context.database) as session:
        sources = await connection_service.active_of(session, reads_awards(context))
        for source in sources:
            await enqueue(
                session,
                CHECK_TASK,
                user_id=source.user_id,
                dedupe_key=f"{CHECK_TASK}:{source.id}:{period}",
                connection_id=str(source.id),
            )
    return len(sources)


async def check(context: IntegrationContext, connection_id: uuid.UUID) -> int:
    """Read one connection's awards and make jobs of the won ones; how many jobs were made."""
    async with unit_of_work(context.database) as session:
        source = await connection_service.find(session, connection_id)
        if source is None or not source.active:
            return 0
        state = await session.get(AwardCheck, connection_id)
        cursor = state.cursor if state is not None else None
        connector = await connection_service.connector_for(
            session, context=context, connection_id=connection_id
        )
    if not isinstance(connector, Winning):
        return 0
    try:
        async with connector.client:
            awards, next_cursor = await connector.awards(cursor)
    except IntegrationError as exc:
        async with unit_of_work(context.database) as session:
            state = await _state(session, connection_id, source.user_id)
            state.error = exc.detail[:500]
            state.checked_at = utcnow()
        logger.warning("award check failed", connection=str(connection_id), reason=exc.detail)
        return 0
    made = 0
    async with unit_of_work(context.database) as session:
        for award in awards:
            if award.status not in WON:
                continue
            made += await _job_for(
                session,
                source.user_id,
                award,
                source="award" if award.platform == source.integration else "alert",
            )
        state = await _state(session, connection_id, source.user_id)
        state.cursor = next_cursor
        state.error = None
        state.checked_at = utcnow()
    return made


async def _state(session: AsyncSession, connection_id: uuid.UUID, user_id: uuid.UUID) -> AwardCheck:
    state = await session.get(AwardCheck, connection_id)
    if state is None:
        state = AwardCheck(connection_id=connection_id, user_id=user_id)
        session.add(state)
    return state


async def _job_for(session: AsyncSession, user_id: uuid.UUID, award: Award, *, source: str) -> int:
    """A job for one won award, once. The award names the user's bid (Freelancer.com) or only
    the project (an alert email): the proposal is found by the one or the other. Work an alert
    email reports without a proposal sent through Gigforge (a Fiverr order) becomes a job of its
    own, pending until the user accepts it."""
    proposal = await proposal_service.by_external_id(
        session, user_id, platform=award.platform, external_id=award.external_bid_id
    )
    if proposal is None and award.external_project_id:
        opportunity = await opportunity_service.brief_by_external_id(
            session, user_id=user_id, platform=award.platform, external_id=award.external_project_id
        )
        if opportunity is not None:
            proposal = await proposal_service.sent_for_opportunity(
                session, user_id, opportunity_id=opportunity.id
            )
    if proposal is not None:
        if await job_service.for_proposal(session, proposal.id) is not None:
            return 0
        await job_service.won_from_proposal(
            session,
            user_id,
            proposal_id=proposal.id,
            source=source,
            accepted=source == "award" and award.status == "accepted",
            external_bid_id=award.external_bid_id,
        )
        return 1
    if source != "alert":
        # An API's award or offer on no proposal of the user's (an Upwork offer made to
        # someone's profile directly) is left on the platform: the user marks it won.
        return 0
    if await job_service.for_external_project(
        session, user_id, platform=award.platform, project=award.external_project_id
    ):
        return 0
    await job_service.create(
        session,
        user_id,
        WonWork(
            platform=award.platform,
            source=source,
            title=award.title or f"{award.platform} work {award.external_project_id}",
            url=award.url,
            client_name=award.client_name,
            budget_minor=award.amount_minor,
            currency=award.currency,
            deadline=None,
            external_project_id=award.external_project_id,
            external_bid_id=award.external_bid_id,
        ),
    )
    return 1


async def accept(context: IntegrationContext, job_id: uuid.UUID) -> JobStatus | None:
    """Accept the job's award through the platform's API, then start the job."""
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, job_id)
        if job is None or job.status is not JobStatus.pending or job.external_bid_id is None:
            return None
        bid = job.external_bid_id
        user_id = job.user_id
        connector = None
        for connection in await connection_service.active_of(session, {job.platform}):
            if connection.user_id == user_id:
                connector = await connection_service.connector_for(
                    session, context=context, connection_id=connection.id
                )
                break
    if not isinstance(connector, Winning):
        return await _not_accepted(context, job_id, user_id, "no connection that accepts awards")
    try:
        async with connector.client:
            award = await connector.accept_award(bid)
    except (Transient, RateLimited, Unavailable) as exc:
        raise AcceptDeferred(exc.detail) from exc
    except IntegrationError as exc:
        return await _not_accepted(context, job_id, user_id, exc.detail)
    if award.status != "accepted":
        return await _not_accepted(context, job_id, user_id, f"the award is {award.status}")
    async with unit_of_work(context.database) as session:
        started = await job_service.start_accepted(session, job_id)
        if started is not None:
            started.note = None
        return started.status if started is not None else None


async def _not_accepted(
    context: IntegrationContext, job_id: uuid.UUID, user_id: uuid.UUID, reason: str
) -> JobStatus:
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, job_id)
        assert job is not None
        job.accepted_at = None
        job.note = f"The platform did not accept the award: {reason}"[:500]
        await audit_service.record(
            session,
            Actor(user_id=user_id),
            action="job.accept_failed",
            target_type="job",
            target_id=job_id,
            data={"reason": reason[:200]},
        )
        return job.status
