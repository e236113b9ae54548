"""Bodies of the opportunities API; shapes follow the seed contract (`opportunities[]`,
`cca_analysis`, `total`). Amounts are major units in the listing's own currency."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from gigforge.kit.money import MajorAmount, parse_major_units
from gigforge.kit.schemas import InputSchema, OutputSchema

Skill = Annotated[str, StringConstraints(min_length=1, max_length=60, to_lower=True)]
Keyword = Annotated[str, StringConstraints(min_length=1, max_length=60, to_lower=True)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]


def _usd_amount(amount: Decimal) -> Decimal:
    parse_major_units(amount, FILTER_CURRENCY)  # InvalidAmount says what is wrong
    return amount


# Budget filters compare minor units of every listing's own currency, read as USD's two decimals.
FILTER_CURRENCY = "USD"
FilterAmount = Annotated[Decimal, AfterValidator(_usd_amount)]


class Sort(StrEnum):
    newest = "-posted_at"
    oldest = "posted_at"
    best = "-score"
    worst = "score"
    highest_budget = "-budget"
    lowest_budget = "budget"


class ProfileBody(InputSchema):
    skills: list[Skill] = Field(default_factory=list, max_length=100)
    hourly_rate: Annotated[Decimal, Field(ge=0, le=100_000)] | None = None
    min_budget: Annotated[Decimal, Field(ge=0, le=100_000_000)] | None = None
    currency: Currency = "USD"
    categories: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    excluded_keywords: list[Keyword] = Field(default_factory=list, max_length=100)
    require_payment_verified: bool = False
    min_client_rating: Annotated[float, Field(ge=0, le=5)] | None = None
    excluded_countries: list[Annotated[str, StringConstraints(max_length=60)]] = Field(
        default_factory=list, max_length=100
    )

    @model_validator(mode="after")
    def _amounts_fit_the_currency(self) -> ProfileBody:
        """12.345 USD or 12.5 JPY cannot be stored exactly: a 422 that says why."""
        for name in ("hourly_rate", "min_budget"):
            amount = getattr(self, name)
            if amount is not None:
                try:
                    parse_major_units(amount, self.currency)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        return self


class ProfileRead(OutputSchema):
    skills: list[str]
    hourly_rate: MajorAmount | None
    min_budget: MajorAmount | None
    currency: str
    categories: list[str]
    excluded_keywords: list[str]
    require_payment_verified: bool
    min_client_rating: float | None
    excluded_countries: list[str]
    outcomes_learned: int
    model: Literal["prior", "learned"]


class CCAAnalysis(OutputSchema):
    complexity_score: float
    success_probability: float
    estimated_hours: float
    fit_score: int
    factors: list[str]


class BudgetRead(OutputSchema):
    kind: str | None
    min: MajorAmount | None
    max: MajorAmount | None
    currency: str | None


@dataclass(frozen=True)
class OpportunityFilter:
    """What a listing of opportunities is narrowed to (the API's and the dashboard's filters)."""

    platform: str | None = None
    min_budget_minor: int | None = None
    max_budget_minor: int | None = None
    skills: tuple[str, ...] = ()
    q: str | None = None
    min_score: float | None = None
    posted_after: datetime | None = None
    include_dismissed: bool = False
    include_duplicates: bool = False


class OpportunityBrief(BaseModel):
    """What another domain reads of one opportunity: proposals draft from it and submit to it.

    A copy, not the row: the reader cannot change an opportunity behind this domain's back.
    """

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: uuid.UUID
    user_id: uuid.UUID
    platform: str
    external_id: str
    url: str
    title: str
    description_text: str
    skills: list[str]
    client: dict[str, Any]
    budget_kind: str | None
    budget_min_minor: int | None
    budget_max_minor: int | None
    currency: str | None
    success_probability: float


class OpportunityRead(OutputSchema):
    id: uuid.UUID
    external_job_id: str
    platform: str
    title: str
    url: str
    budget: MajorAmount | None = Field(description="The top of the budget, in `currency`")
    currency: str | None
    budget_detail: BudgetRead
    deadline: datetime | None
    posted_at: datetime | None
    description: str = Field(description="Sanitized HTML")
    skills: list[str]
    category: str | None
    client: dict[str, Any]
    proposals_count: int | None
    attribution: dict[str, Any] | None
    duplicate_of: uuid.UUID | None
    dismissed: bool
    outcome: str | None
    cca_analysis: CCAAnalysis


class OpportunityList(OutputSchema):
    opportunities: list[OpportunityRead]
    total: int
    limit: int
    offset: int


class OutcomeBody(InputSchema):
    outcome: Literal["won", "lost", "ignored"]


class ImportBody(InputSchema):
    url: Annotated[str, StringConstraints(max_length=1000)] | None = None
    text: Annotated[str, StringConstraints(max_length=50_000)] | None = None
    title: Annotated[str, StringConstraints(max_length=300)] | None = None
