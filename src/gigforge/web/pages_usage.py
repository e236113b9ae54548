"""Usage: calls in each connection's current rate and quota windows, and this month's AI spend
per model against the per-task and monthly budgets."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from fastapi import APIRouter, Request
from starlette.responses import Response

from gigforge.ai.deps import RouterDep
from gigforge.ai.service import ai_usage as ai_usage_service
from gigforge.connections.endpoints import ContextDep
from gigforge.connections.usage import connection_usage as connection_usage_service
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import GigforgeError
from gigforge.web.rendering import DashboardRoute, needs_attention, render
from gigforge.web.session import CurrentViewer

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

MICRO_PER_DOLLAR = 1_000_000
CENT = MICRO_PER_DOLLAR // 100
# A meter turns to its warning colour from here on, as the quota notices start at 80%.
WARN_SHARE = 0.8


def dollars(micro_usd: int) -> str:
    """Every amount on the page the same way: "$1,234.56"; a spend too small to show in
    cents is "under $0.01" rather than a misleading "$0.00"."""
    if 0 < micro_usd < CENT:
        return "under $0.01"
    amount = (Decimal(micro_usd) / MICRO_PER_DOLLAR).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    return f"${amount:,.2f}"


def percent(part: int, whole: int) -> int:
    """A whole percentage, never shown as 0% when something was used."""
    if whole <= 0:
        return 100 if part > 0 else 0
    share = round(100 * part / whole)
    return max(share, 1) if part > 0 else 0


@dataclass(frozen=True)
class ModelRow:
    provider: str
    model: str
    requests: str
    cached: str
    tokens: str
    spend: str
    share: int
    dearest: str
    dearest_share: int


@router.get("/usage")
async def usage_page(
    request: Request,
    session: SessionDep,
    context: ContextDep,
    router: RouterDep,
    viewer: CurrentViewer,
) -> Response:
    connections = await connection_usage_service.windows(session, viewer.principal, context=context)
    month = await ai_usage_service.this_month(
        session, viewer.principal, context=context, router=router
    )
    models = []
    for item in month.models:
        try:
            provider = context.registry.get(item.integration).spec.title
        except GigforgeError:
            provider = item.integration
        models.append(
            ModelRow(
                provider=provider,
                model=item.model,
                requests=f"{item.requests:,}",
                cached=f"{item.cached:,}",
                tokens=f"{item.prompt_tokens:,} in, {item.completion_tokens:,} out",
                spend=dollars(item.cost_micro_usd),
                share=percent(item.cost_micro_usd, month.monthly_budget_micro_usd),
                dearest=dollars(item.dearest_micro_usd),
                dearest_share=percent(item.dearest_micro_usd, month.task_budget_micro_usd),
            )
        )
    return render(
        request,
        "usage.html",
        {
            "viewer": viewer,
            "notices": await needs_attention(session, viewer, context.settings),
            "connections": connections,
            "warn_share": WARN_SHARE,
            "month": month,
            "models": models,
            "spent": dollars(month.spent_micro_usd),
            "left": dollars(month.left_micro_usd),
            "monthly_budget": dollars(month.monthly_budget_micro_usd),
            "task_budget": dollars(month.task_budget_micro_usd),
            "dearest": dollars(month.dearest_micro_usd),
            "month_share": percent(month.spent_micro_usd, month.monthly_budget_micro_usd),
            "dearest_share": percent(month.dearest_micro_usd, month.task_budget_micro_usd),
            "requests": f"{month.requests:,}",
        },
    )
