"""Every query of the proposals domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, func, select

from gigforge.kit.repository import Repository
from gigforge.proposals.models import Proposal, ProposalStatus, ProposalVersion


class ProposalRepository(Repository[Proposal]):
    model = Proposal

    def listed(self, user_id: uuid.UUID, *, status: ProposalStatus | None) -> Select[Proposal]:
        """The user's proposals, newest first, in one state or all."""
        statement = self.scoped(user_id)
        if status is not None:
            statement = statement.where(Proposal.status == status)
        return statement.order_by(Proposal.created_at.desc())

    async def for_opportunity(
        self, user_id: uuid.UUID, opportunity_id: uuid.UUID
    ) -> Sequence[Proposal]:
        return await self.all(
            self.scoped(user_id)
            .where(Proposal.opportunity_id == opportunity_id)
            .order_by(Proposal.created_at.desc())
        )

    async def recently_updated(
        self,
        user_id: uuid.UUID,
        *,
        limit: int,
        states: Iterable[ProposalStatus] | None = None,
    ) -> Sequence[Proposal]:
        """The user's proposals that changed last first, in `states` or all."""
        statement = self.scoped(user_id)
        if states is not None:
            statement = statement.where(Proposal.status.in_(tuple(states)))
        return await self.all(statement.order_by(Proposal.updated_at.desc()).limit(limit))

    async def count_auto_approved_since(self, user_id: uuid.UUID, since: datetime) -> int:
        statement = select(func.count()).where(
            Proposal.user_id == user_id,
            Proposal.auto_approved.is_(True),
            Proposal.approved_at >= since,
        )
        return int(await self.session.scalar(statement) or 0)


class ProposalVersionRepository(Repository[ProposalVersion]):
    """Versions are reached through their proposal, which is scoped to its owner."""

    model = ProposalVersion
    owner_column = None

    async def of(self, proposal_id: uuid.UUID) -> Sequence[ProposalVersion]:
        return await self.all(
            self.statement()
            .where(ProposalVersion.proposal_id == proposal_id)
            .order_by(ProposalVersion.number)
        )

    async def latest_number(self, proposal_id: uuid.UUID) -> int:
        latest = await self.session.scalar(
            select(func.max(ProposalVersion.number)).where(
                ProposalVersion.proposal_id == proposal_id
            )
        )
        return int(latest or 0)
