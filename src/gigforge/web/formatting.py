"""The Jinja filters every dashboard page shows money with, so amounts read alike everywhere.

The formatting itself lives in `kit.money` (thousands separators, the currency's own decimals);
these wrap it for templates, where an amount or its currency may be missing:

    {{ item.budget | money(item.currency) }}                   USD 1,400.00
    {{ proposal.amount_minor | money_minor(proposal.currency) }}   JPY 15,000
    {{ item | budget }}                                        USD 90,000.00\u2013120,000.00 a year
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from gigforge.kit.money import format_major, format_money, major_to_minor
from gigforge.opportunities.schemas import OpportunityRead
from gigforge.opportunities.types import budget_text

NOT_STATED: Final = "not stated"


def money(amount: Decimal | int | float | None, currency: str | None) -> str:
    """An amount in major units, as the API's read schemas carry it."""
    if amount is None or not currency:
        return NOT_STATED
    return format_major(Decimal(str(amount)), currency)


def money_minor(amount_minor: int | None, currency: str | None) -> str:
    """An amount in minor units, as the tables store it."""
    if amount_minor is None or not currency:
        return NOT_STATED
    return format_money(amount_minor, currency)


def budget(item: OpportunityRead) -> str:
    """A listing's budget with its range and kind kept: "USD 40.00\u201360.00 an hour"."""
    detail = item.budget_detail
    currency = detail.currency or item.currency
    if currency is None:
        return NOT_STATED
    low = None if detail.min is None else major_to_minor(detail.min, currency)
    high = None if detail.max is None else major_to_minor(detail.max, currency)
    return budget_text(detail.kind, low, high, currency) or NOT_STATED


MONEY_FILTERS: Final[dict[str, Callable[..., Any]]] = {
    "money": money,
    "money_minor": money_minor,
    "budget": budget,
}
