"""The auto-approve rule: the only way a draft goes out without the user pressing approve.

Off until the user turns it on, and then only inside three caps. Reading it never creates a
row; every change is audited with the caps before and after, so "why did this go out on its
own?" always has an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.certifications.rules import AUTO_APPROVE_LEVEL
from gigforge.certifications.service import certifications as certification_service
from gigforge.kit.errors import ValidationFailed
from gigforge.proposals.models import AutoApproveRule

# The caps compare with each listing's budget in minor units, read with USD's two decimals.
CAP_CURRENCY = "USD"
MAX_BUDGET_MINOR = 100_000_000  # 1,000,000.00, the API's `max_budget` limit
MAX_PER_DAY = 100
DEFAULT_MIN_SCORE = 0.9


@dataclass(frozen=True)
class AutoApproveCaps:
    enabled: bool
    max_budget_minor: int
    min_score: float
    max_per_day: int
    updated_at: datetime | None = None

    @property
    def currency(self) -> str:
        return CAP_CURRENCY


OFF = AutoApproveCaps(enabled=False, max_budget_minor=0, min_score=DEFAULT_MIN_SCORE, max_per_day=0)


def _caps(rule: AutoApproveRule | None) -> AutoApproveCaps:
    if rule is None:
        return OFF
    return AutoApproveCaps(
        enabled=rule.enabled,
        max_budget_minor=rule.max_budget_minor,
        min_score=rule.min_score,
        max_per_day=rule.max_per_day,
        updated_at=rule.updated_at,
    )


def _check(max_budget_minor: int, min_score: float, max_per_day: int) -> None:
    errors = []
    if not 0 <= max_budget_minor <= MAX_BUDGET_MINOR:
        errors.append(("max_budget", "must be between 0 and 1,000,000.00"))
    if not 0 <= min_score <= 1:
        errors.append(("min_score", "must be between 0 and 1"))
    if not 0 <= max_per_day <= MAX_PER_DAY:
        errors.append(("max_per_day", f"must be between 0 and {MAX_PER_DAY}"))
    if errors:
        raise ValidationFailed(
            "The auto-approve caps are out of range",
            errors=[
                {"loc": ["body", name], "msg": message, "type": "value_error"}
                for name, message in errors
            ],
        )


class AutoApproveService:
    async def get(self, session: AsyncSession, principal: Principal) -> AutoApproveCaps:
        return _caps(await session.get(AutoApproveRule, principal.user_id))

    async def put(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        enabled: bool,
        max_budget_minor: int,
        min_score: float,
        max_per_day: int,
    ) -> AutoApproveCaps:
        _check(max_budget_minor, min_score, max_per_day)
        if enabled:
            await certification_service.require_level(
                session, principal, AUTO_APPROVE_LEVEL, action="turn on an auto-approve rule"
            )
        rule = await session.get(AutoApproveRule, principal.user_id)
        before = _caps(rule)
        if rule is None:
            rule = AutoApproveRule(user_id=principal.user_id)
            session.add(rule)
        rule.enabled = enabled
        rule.max_budget_minor = max_budget_minor
        rule.min_score = min_score
        rule.max_per_day = max_per_day
        await session.flush()
        after = _caps(rule)
        if (before.enabled, before.max_budget_minor, before.min_score, before.max_per_day) != (
            after.enabled,
            after.max_budget_minor,
            after.min_score,
            after.max_per_day,
        ):
            await audit_service.record(
                session,
                principal.actor,
                action="proposal.auto_approve_changed",
                target_type="auto_approve_rule",
                target_id=principal.user_id,
                data={
                    "enabled": enabled,
                    "max_budget_minor": max_budget_minor,
                    "min_score": min_score,
                    "max_per_day": max_per_day,
                    "was_enabled": before.enabled,
                },
            )
        return after


auto_approve = AutoApproveService()
