"""The plain data the pipeline passes between its stages (no database, no I/O).

Slotted, as a scan holds a few thousand of each at a time and the garbage collector walks them
all: an instance without a `__dict__` is one object to walk instead of two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from gigforge.kit.money import format_money_range

# A salary is yearly employment pay (job boards), kept apart from a fixed price for a project:
# neither scores against the other's yardstick.
BudgetKind = Literal["fixed", "hourly", "salary"]
Outcome = Literal["won", "lost", "ignored"]
BUDGET_PERIODS: Final[Mapping[str, str]] = {
    "fixed": "fixed price",
    "hourly": "an hour",
    "salary": "a year",
}


def budget_text(
    kind: str | None, low_minor: int | None, high_minor: int | None, currency: str | None
) -> str:
    """A budget as people read it: "USD 90,000.00\u2013120,000.00 a year", "USD 40.00 an hour",
    "up to EUR 500.00 fixed price"; "" when no amount or currency is known."""
    if currency is None:
        return ""
    amount = format_money_range(low_minor, high_minor, currency)
    period = BUDGET_PERIODS.get(kind or "")
    return f"{amount} {period}" if amount and period else amount


@dataclass(frozen=True, slots=True)
class ClientInfo:
    country: str | None = None
    payment_verified: bool | None = None
    rating: float | None = None  # 0 to 5
    hires: int | None = None
    total_spend_minor: int | None = None
    spend_currency: str | None = None


@dataclass(frozen=True, slots=True)
class Attribution:
    """Where a listing came from, kept on every listing as the board's terms require."""

    source: str
    url: str
    notice: str | None = None


@dataclass(frozen=True, slots=True)
class NormalizedPosting:
    platform: str
    external_id: str
    url: str
    title: str  # plain text
    description: str  # safe HTML
    description_text: str  # plain text, for matching and dedupe
    skills: tuple[str, ...] = ()  # lower-cased, de-duplicated, in source order
    category: str | None = None
    budget_kind: BudgetKind | None = None
    budget_min_minor: int | None = None
    budget_max_minor: int | None = None
    currency: str | None = None
    posted_at: datetime | None = None
    deadline: datetime | None = None
    client: ClientInfo = field(default_factory=ClientInfo)
    proposals_count: int | None = None
    attribution: Attribution | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MatchingProfile:
    """A user's matching preferences; every field optional, so a new user still gets scores."""

    skills: tuple[str, ...] = ()
    hourly_rate_minor: int | None = None
    min_budget_minor: int | None = None
    currency: str = "USD"
    categories: tuple[str, ...] = ()
    excluded_keywords: tuple[str, ...] = ()
    require_payment_verified: bool = False
    min_client_rating: float | None = None
    excluded_countries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Analysis:
    """The seed contract's `cca_analysis`, plus what explains it."""

    complexity_score: float  # 1 to 5
    success_probability: float  # 0 to 1
    estimated_hours: float
    fit_score: int  # 0 to 100
    factors: tuple[str, ...]  # the top reasons, in plain words, strongest first
    features: Mapping[str, float] = field(default_factory=dict)
