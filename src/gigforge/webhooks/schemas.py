"""Request and response bodies of the webhooks API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from gigforge.kit.schemas import InputSchema, OutputSchema

MAX_EVENT_FILTERS = 50
MAX_HEADERS = 20
MAX_RATE_LIMIT = 10_000


class EndpointBase(InputSchema):
    description: str = Field(default="", max_length=500)
    event_types: list[str] = Field(
        default_factory=list,
        max_length=MAX_EVENT_FILTERS,
        description="Event names (`proposal.submitted`) or families (`proposal.*`) from "
        "`/api/v1/events/types`; empty means every event type",
    )
    rate_limit: int | None = Field(
        default=None, ge=1, le=MAX_RATE_LIMIT, description="Most deliveries a second; none"
    )


class EndpointCreate(EndpointBase):
    url: str = Field(min_length=1, max_length=2000, examples=["https://example.com/hooks"])
    enabled: bool = True
    headers: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_HEADERS,
        description="Extra headers sent with every delivery (values are stored encrypted and "
        "never shown again)",
    )


class EndpointUpdate(InputSchema):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, max_length=MAX_EVENT_FILTERS)
    enabled: bool | None = None
    rate_limit: int | None = Field(default=None, ge=1, le=MAX_RATE_LIMIT)
    headers: dict[str, str] | None = Field(default=None, max_length=MAX_HEADERS)


class EndpointRead(OutputSchema):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    rate_limit: int | None
    header_names: list[str] = Field(description="Custom header names; values are not shown")
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="While set, deliveries are signed with the old secret too"
    )
    created_at: datetime
    updated_at: datetime


class EndpointWithSecret(EndpointRead):
    secret: str = Field(description="The signing secret (`whsec_...`); shown only this once")


class EndpointList(OutputSchema):
    items: list[EndpointRead]
    total: int
    limit: int
    offset: int


class AttemptRead(OutputSchema):
    id: uuid.UUID
    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    msg_id: str = Field(description="The `webhook-id` sent")
    attempted_at: datetime
    succeeded: bool
    status_code: int | None
    duration_ms: int
    response_excerpt: str
    error: str | None


class AttemptPage(OutputSchema):
    attempts: list[AttemptRead]
    next_cursor: uuid.UUID | None = Field(description="Pass as `after` to read older attempts")
    has_more: bool


class DeliveryRead(OutputSchema):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    msg_id: str = Field(validation_alias="message_id")
    state: str
    attempts: int
    due_at: datetime
    last_status: int | None
    last_error: str | None


class DeliveryList(OutputSchema):
    deliveries: list[DeliveryRead]


class RecoverResult(OutputSchema):
    resent: int = Field(description="Failed deliveries queued again")
