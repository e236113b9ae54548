"""Submitting approved proposals, exactly once.

Approval enqueues the task `proposals.submit` in the same unit of work (see `tasks.py`). A run
follows the backbone's pattern for side effects outside the process:

1. claim the proposal (`submitting`, a lease, one more attempt) and read what the call needs,
   in a short transaction;
2. call the platform with no transaction open, sending the proposal's idempotency key;
3. record the outcome, its audit record and its event in a second transaction.

A worker that dies mid-call leaves the proposal `submitting` with a lease that runs out; the
task engine runs the task again, and the connector reconciles first (Freelancer.com: an
existing bid by this user on the project is found and recorded instead of bidding twice).
Platforms without a submission API, or without a connection, are handed off: the user gets the
link and the approved text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import (
    Capability,
    IntegrationError,
    Marketplace,
    NotSupported,
    ProposalSubmission,
    RateLimited,
    SubmissionResult,
    Transient,
    Unavailable,
)
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.kit.tasks import enqueue
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.proposals.events import ProposalFailed, ProposalHandedOff, ProposalSubmitted
from gigforge.proposals.models import Proposal, ProposalStatus, ProposalVersion

logger = structlog.get_logger("gigforge.proposals")

SUBMIT_TASK = "proposals.submit"
RETRY_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5
DEFAULT_PERIOD_DAYS = 7


class SubmissionBusy(Exception):
    """Another run holds the proposal's lease; the task tries again after its backoff."""


@dataclass
class _Claimed:
    proposal_id: uuid.UUID
    user_id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
    attempts: int
    submission: ProposalSubmission | None = None
    connector: Marketplace | None = None
    hand_off: str | None = None


async def enqueue_submission(session: AsyncSession, proposal: Proposal) -> None:
    """Inside the approving unit of work: submit after the commit (or at `due_at`)."""
    await enqueue(
        session,
        SUBMIT_TASK,
        due_at=proposal.due_at,
        user_id=proposal.user_id,
        proposal_id=str(proposal.id),
    )


async def submit(
    context: IntegrationContext, proposal_id: uuid.UUID, *, lease: timedelta
) -> ProposalStatus | None:
    """Claim, call, record; None when there is nothing to do (sent, withdrawn, not yet due).

    The proposal's claim lasts as long as its task's (`lease`): a rerun of the task after its
    worker died finds the proposal's claim run out too, and reconciles."""
    claimed = await _claim(context, proposal_id, lease)
    if claimed is None:
        return None
    if claimed.hand_off is not None:
        return await _record(context, claimed, hand_off=claimed.hand_off)
    assert claimed.connector is not None
    assert claimed.submission is not None
    try:
        async with claimed.connector.client:
            result = await claimed.connector.submit_proposal(claimed.submission)
    except NotSupported:
        return await _record(context, claimed, hand_off="the platform offers no proposal API")
    except (Transient, RateLimited, Unavailable) as exc:
        return await _record(context, claimed, deferred=exc)
    except IntegrationError as exc:
        return await _record(context, claimed, failed=exc)
    return await _record(context, claimed, result=result)


async def _claim(
    context: IntegrationContext, proposal_id: uuid.UUID, lease: timedelta
) -> _Claimed | None:
    now = utcnow()
    async with unit_of_work(context.database) as session:
        taken = await session.execute(
            update(Proposal)
            .where(
                Proposal.id == proposal_id,
                or_(
                    and_(Proposal.status == ProposalStatus.approved, Proposal.due_at <= now),
                    and_(
                        Proposal.status == ProposalStatus.submitting,
                        Proposal.claimed_until < now,
                    ),
                ),
            )
            .values(
                status=ProposalStatus.submitting,
                claimed_until=now + lease,
                attempts=Proposal.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        proposal = await session.get(Proposal, proposal_id, populate_existing=True)
        if getattr(taken, "rowcount", 0) != 1:
            if proposal is not None and proposal.status is ProposalStatus.submitting:
                raise SubmissionBusy(f"proposal {proposal_id} is being submitted by another run")
            return None
        assert proposal is not None
        claimed = _Claimed(
            proposal_id=proposal.id,
            user_id=proposal.user_id,
            opportunity_id=proposal.opportunity_id,
            platform=proposal.platform,
            attempts=proposal.attempts,
        )
        opportunity = await opportunity_service.brief(
            session, user_id=proposal.user_id, opportunity_id=proposal.opportunity_id
        )
        assert opportunity is not None
        marketplaces = [
            connection
            for connection in await connection_service.chain(
                session, proposal.user_id, Capability.marketplace, context=context
            )
            if connection.integration == proposal.platform
        ]
        if not marketplaces or proposal.amount_minor is None or proposal.currency is None:
            claimed.hand_off = "no submission channel"
            return claimed
        connector = await connection_service.connector(
            session, context=context, connection=marketplaces[0]
        )
        if not isinstance(connector, Marketplace):
            claimed.hand_off = "not a marketplace"
            return claimed
        text = (
            await session.execute(
                select(ProposalVersion.text)
                .where(ProposalVersion.proposal_id == proposal.id)
                .order_by(ProposalVersion.number.desc())
                .limit(1)
            )
        ).scalar_one()
        claimed.connector = connector
        claimed.submission = ProposalSubmission(
            external_job_id=opportunity.external_id,
            cover_letter=text,
            amount_minor=proposal.amount_minor,
            currency=proposal.currency,
            period_days=proposal.period_days or DEFAULT_PERIOD_DAYS,
            idempotency_key=proposal.idempotency_key,
        )
        return claimed


async def _record(
    context: IntegrationContext,
    claimed: _Claimed,
    *,
    result: SubmissionResult | None = None,
    hand_off: str | None = None,
    deferred: IntegrationError | None = None,
    failed: IntegrationError | None = None,
) -> ProposalStatus | None:
    """The outcome, fenced on the claim: a run whose lease was taken over records nothing."""
    async with unit_of_work(context.database) as session:
        proposal = await session.get(Proposal, claimed.proposal_id, with_for_update=True)
        if proposal is None or proposal.status is not ProposalStatus.submitting:
            return None
        if proposal.attempts != claimed.attempts:
            return None
        proposal.claimed_until = None
        actor = Actor(user_id=claimed.user_id)
        ids = {"proposal_id": proposal.id, "opportunity_id": proposal.opportunity_id}
        if result is not None:
            proposal.status = ProposalStatus.submitted
            proposal.submitted_at = utcnow()
            proposal.external_id = result.external_id
            proposal.failure_reason = None
            await audit_service.record(
                session,
                actor,
                action="proposal.submitted",
                target_type="proposal",
                target_id=proposal.id,
                data={
                    "via": proposal.platform,
                    "external_id": result.external_id,
                    "result": result.status,
                },
            )
            await publish(
                session,
                ProposalSubmitted(
                    **ids, platform=proposal.platform, via="api", external_id=result.external_id
                ),
                user_id=proposal.user_id,
            )
        elif hand_off is not None:
            proposal.status = ProposalStatus.handed_off
            proposal.due_at = None
            await audit_service.record(
                session,
                actor,
                action="proposal.handed_off",
                target_type="proposal",
                target_id=proposal.id,
                data={"reason": hand_off},
            )
            await publish(
                session,
                ProposalHandedOff(**ids, platform=proposal.platform, reason=hand_off),
                user_id=proposal.user_id,
            )
        elif deferred is not None and proposal.attempts < MAX_ATTEMPTS:
            proposal.status = ProposalStatus.approved
            proposal.due_at = utcnow() + RETRY_AFTER
            proposal.failure_reason = deferred.detail[:500]
            logger.warning("submission deferred", proposal=str(proposal.id), reason=deferred.detail)
            await enqueue_submission(session, proposal)
        else:
            error = failed or deferred
            assert error is not None
            proposal.status = ProposalStatus.failed
            proposal.due_at = None
            proposal.failure_reason = error.detail[:500]
            logger.warning("submission failed", proposal=str(proposal.id), reason=error.detail)
            await audit_service.record(
                session,
                actor,
                action="proposal.failed",
                target_type="proposal",
                target_id=proposal.id,
                data={"reason": error.detail[:200]},
            )
            await publish(
                session,
                ProposalFailed(**ids, platform=proposal.platform, reason=error.detail[:500]),
                user_id=proposal.user_id,
            )
        status = proposal.status
    return status
