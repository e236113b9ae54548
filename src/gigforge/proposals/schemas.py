from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from gigforge.kit.money import MajorAmount
from gigforge.kit.schemas import InputSchema, OutputSchema
from gigforge.proposals.models import ProposalStatus

Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
# The largest bid, in major units of the proposal's currency: the API and the dashboard both
# apply it (through `proposals.service.bid_amount_minor`).
MAX_BID = Decimal(10_000_000)


class ProposalCreate(InputSchema):
    """The opportunity by its id, or by the platform's own id for it (`platform` with
    `external_job_id`, what `POST /jobs/accept` took)."""

    opportunity_id: uuid.UUID | None = None
    platform: (
        Annotated[str, StringConstraints(min_length=1, max_length=40, to_lower=True)] | None
    ) = None
    external_job_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    text: Text | None = Field(default=None, description="Your own text; drafted by AI if absent")

    @model_validator(mode="after")
    def _one_reference(self) -> ProposalCreate:
        by_platform = (self.platform, self.external_job_id)
        if self.opportunity_id is not None and by_platform == (None, None):
            return self
        if self.opportunity_id is None and None not in by_platform:
            return self
        raise ValueError(
            "Name the opportunity either by opportunity_id or by platform and external_job_id"
        )


class VersionCreate(InputSchema):
    text: Text
    amount: Annotated[Decimal, Field(gt=0, le=MAX_BID)] | None = Field(
        default=None, description="A new bid amount, in the proposal's currency"
    )
    period_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        default=None, description="A new delivery period, in days"
    )


class AcceptJob(InputSchema):
    """The seed contract's `POST /jobs/accept`."""

    external_job_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    platform: Annotated[str, StringConstraints(min_length=1, max_length=40, to_lower=True)]
    custom_proposal: Text | None = None


class VersionRead(OutputSchema):
    number: int
    text: str
    author: str
    not_ai: bool = Field(description="Written from a template, not by AI: show it as such")
    created_at: datetime


class HandOffRead(OutputSchema):
    url: str
    text: str


class ProposalRead(OutputSchema):
    id: uuid.UUID
    opportunity_id: uuid.UUID
    platform: str
    status: ProposalStatus
    amount: MajorAmount | None
    currency: str | None
    period_days: int | None
    auto_approved: bool
    approved_at: datetime | None
    submitted_at: datetime | None
    external_id: str | None
    failure_reason: str | None
    versions: list[VersionRead]
    hand_off: HandOffRead | None = Field(
        default=None, description="For handed-off proposals: open the link, paste the text"
    )


class AutoApproveBody(InputSchema):
    enabled: bool
    max_budget: Annotated[float, Field(ge=0, le=1_000_000)] = 0
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.9
    max_per_day: Annotated[int, Field(ge=0, le=100)] = 0
