"""Every query of the AI domain's usage records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from gigforge.ai.models import AIUsage
from gigforge.kit.repository import Repository


@dataclass(frozen=True)
class ModelSpend:
    """One model's answers to a user since some moment."""

    integration: str
    model: str
    requests: int
    cached: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int
    dearest_micro_usd: int


class UsageRepository(Repository[AIUsage]):
    model = AIUsage

    async def spend_by_model(self, user_id: uuid.UUID, since: datetime) -> Sequence[ModelSpend]:
        """Requests, tokens and cost per model, dearest first."""
        cost = func.coalesce(func.sum(AIUsage.cost_micro_usd), 0)
        statement = (
            select(
                AIUsage.integration,
                AIUsage.model,
                func.count(),
                func.coalesce(func.sum(case((AIUsage.cached, 1), else_=0)), 0),
                func.coalesce(func.sum(AIUsage.prompt_tokens), 0),
                func.coalesce(func.sum(AIUsage.completion_tokens), 0),
                cost,
                func.coalesce(func.max(AIUsage.cost_micro_usd), 0),
            )
            .where(AIUsage.user_id == user_id, AIUsage.created_at >= since)
            .group_by(AIUsage.integration, AIUsage.model)
            .order_by(cost.desc(), AIUsage.integration, AIUsage.model)
        )
        rows = (await self.session.execute(statement)).all()
        return [
            ModelSpend(
                integration=row[0],
                model=row[1],
                requests=int(row[2]),
                cached=int(row[3]),
                prompt_tokens=int(row[4]),
                completion_tokens=int(row[5]),
                cost_micro_usd=int(row[6]),
                dearest_micro_usd=int(row[7]),
            )
            for row in rows
        ]
