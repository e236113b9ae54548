"""What a user's AI use cost this month, against the per-task and monthly budgets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.ai.repository import ModelSpend, UsageRepository
from gigforge.ai.router import Router
from gigforge.ai.spend import month_start, spent_this_month
from gigforge.connections.context import IntegrationContext
from gigforge.kit.clock import utcnow


@dataclass(frozen=True)
class MonthSpend:
    month: datetime
    models: Sequence[ModelSpend]
    spent_micro_usd: int
    monthly_budget_micro_usd: int
    task_budget_micro_usd: int

    @property
    def left_micro_usd(self) -> int:
        return max(0, self.monthly_budget_micro_usd - self.spent_micro_usd)

    @property
    def dearest_micro_usd(self) -> int:
        return max((item.dearest_micro_usd for item in self.models), default=0)

    @property
    def requests(self) -> int:
        return sum(item.requests for item in self.models)


class AIUsageService:
    async def this_month(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        router: Router,
    ) -> MonthSpend:
        """Usage recorded by this process's router is written first, so the figures include
        the request answered a moment ago."""
        await router.flush()
        now = utcnow()
        month = month_start(now)
        models = await UsageRepository(session).spend_by_model(principal.user_id, month)
        return MonthSpend(
            month=month,
            models=models,
            spent_micro_usd=await spent_this_month(session, principal.user_id, now),
            monthly_budget_micro_usd=context.settings.ai_monthly_budget_micro_usd,
            task_budget_micro_usd=context.settings.ai_task_budget_micro_usd,
        )

    async def spent_this_month(self, session: AsyncSession, user_id: uuid.UUID) -> int:
        """What the user's answered AI calls cost this month, as the monthly budget counts it."""
        return await spent_this_month(session, user_id, utcnow())


ai_usage = AIUsageService()
