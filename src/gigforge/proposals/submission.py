"""Submitting approved proposals, exactly once.

Approval only marks a proposal due. The worker claims due proposals with a lease and submits
each through the platform's marketplace connection with the proposal's idempotency key. A
worker that dies mid-call leaves the proposal `submitting` with an expired lease; the next run
submits again, and the connector reconciles first (Freelancer.com: an existing bid by this user
on the project is found and recorded instead of bidding twice). Platforms without a submission
API, or without a connection, are handed off: the user gets the link and the approved text.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.audit.service import Actor
from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import connections as connection_service
from gigforge.db import unit_of_work
from gigforge.integrations.framework import (
    Capability,
    IntegrationError,
    Marketplace,
    NotSupported,
    ProposalSubmission,
    RateLimited,
    Transient,
    Unavailable,
)
from gigforge.kit.clock import utcnow
from gigforge.opportunities.models import Opportunity
from gigforge.proposals.models import Proposal, ProposalStatus, ProposalVersion

logger = structlog.get_logger("gigforge.proposals")

LEASE = timedelta(minutes=5)
RETRY_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 5
DEFAULT_PERIOD_DAYS = 7


async def submit_due(context: IntegrationContext, *, limit: int = 10) -> list[uuid.UUID]:
    """Claim and submit what is due; returns the proposals this run worked on."""
    now = utcnow()
    async with unit_of_work(context.database) as session:
        due = (
            (
                await session.execute(
                    select(Proposal.id)
                    .where(
                        or_(
                            and_(
                                Proposal.status == ProposalStatus.approved, Proposal.due_at <= now
                            ),
                            and_(
                                Proposal.status == ProposalStatus.submitting,
                                Proposal.claimed_until < now,
                            ),
                        )
                    )
                    .order_by(Proposal.due_at)
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        claimed = []
        for proposal_id in due:
            result = await session.execute(
                update(Proposal)
                .where(
                    Proposal.id == proposal_id,
                    or_(
                        Proposal.status == ProposalStatus.approved,
                        and_(
                            Proposal.status == ProposalStatus.submitting,
                            Proposal.claimed_until < now,
                        ),
                    ),
                )
                .values(
                    status=ProposalStatus.submitting,
                    claimed_until=now + LEASE,
                    attempts=Proposal.attempts + 1,
                )
            )
            assert isinstance(result, CursorResult)
            if result.rowcount == 1:
                claimed.append(proposal_id)
    for proposal_id in claimed:
        await _submit(context, proposal_id)
    return claimed


async def _submit(context: IntegrationContext, proposal_id: uuid.UUID) -> None:
    async with unit_of_work(context.database) as session:
        proposal = await session.get(Proposal, proposal_id)
        assert proposal is not None
        opportunity = await session.get(Opportunity, proposal.opportunity_id)
        assert opportunity is not None
        text = (
            await session.execute(
                select(ProposalVersion.text)
                .where(ProposalVersion.proposal_id == proposal.id)
                .order_by(ProposalVersion.number.desc())
                .limit(1)
            )
        ).scalar_one()
        actor = Actor(user_id=proposal.user_id)
        marketplaces = [
            connection
            for connection in await connection_service.chain(
                session, proposal.user_id, Capability.marketplace, context=context
            )
            if connection.integration == proposal.platform
        ]
        if not marketplaces or proposal.amount_minor is None or proposal.currency is None:
            await _hand_off(session, proposal, actor, reason="no submission channel")
            return
        connector = await connection_service.connector(
            session, context=context, connection=marketplaces[0]
        )
        if not isinstance(connector, Marketplace):
            await _hand_off(session, proposal, actor, reason="not a marketplace")
            return
        submission = ProposalSubmission(
            external_job_id=opportunity.external_id,
            cover_letter=text,
            amount_minor=proposal.amount_minor,
            currency=proposal.currency,
            period_days=proposal.period_days or DEFAULT_PERIOD_DAYS,
            idempotency_key=proposal.idempotency_key,
        )
        try:
            async with connector.client:
                result = await connector.submit_proposal(submission)
        except NotSupported:
            await _hand_off(session, proposal, actor, reason="the platform offers no proposal API")
            return
        except (Transient, RateLimited, Unavailable) as exc:
            retry = proposal.attempts < MAX_ATTEMPTS
            proposal.status = ProposalStatus.approved if retry else ProposalStatus.failed
            proposal.due_at = utcnow() + RETRY_AFTER if retry else None
            proposal.failure_reason = exc.detail[:500]
            proposal.claimed_until = None
            logger.warning(
                "submission deferred" if retry else "submission failed",
                proposal=str(proposal.id),
                reason=exc.detail,
            )
            return
        except IntegrationError as exc:
            proposal.status = ProposalStatus.failed
            proposal.failure_reason = exc.detail[:500]
            proposal.claimed_until = None
            await audit_service.record(
                session,
                actor,
                action="proposal.failed",
                target_type="proposal",
                target_id=proposal.id,
                data={"reason": exc.detail[:200]},
            )
            return
        proposal.status = ProposalStatus.submitted
        proposal.submitted_at = utcnow()
        proposal.external_id = result.external_id
        proposal.claimed_until = None
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


async def _hand_off(
    session: AsyncSession, proposal: Proposal, actor: Actor, *, reason: str
) -> None:
    proposal.status = ProposalStatus.handed_off
    proposal.claimed_until = None
    proposal.due_at = None
    await audit_service.record(
        session,
        actor,
        action="proposal.handed_off",
        target_type="proposal",
        target_id=proposal.id,
        data={"reason": reason},
    )
