"""Webhook endpoints, one delivery row per (event, endpoint), every attempt, and the fan-out
cursor over the event stream."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base
from gigforge.kit.ids import uuid7


class DeliveryState(enum.StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    #: Event names and `domain.*` families; empty means every event type.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    #: Most deliveries a second to this endpoint; None is no limit.
    rate_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    #: Names of the custom headers; their values live in the vault (`headers_secret_id`).
    header_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    headers_secret_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    secret_id: Mapped[uuid.UUID] = mapped_column()
    previous_secret_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The first failed attempt since the last success; None while deliveries succeed.
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint: a side effect as a row with a state and a lease."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_state_due_at", "state", "due_at"),
        Index(
            "ix_webhook_deliveries_endpoint_id_ordering_key",
            "endpoint_id",
            "ordering_key",
            "event_id",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column()
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    #: The object the event is about (`proposal:<id>`): one key's events go in order.
    ordering_key: Mapped[str] = mapped_column(String(200))
    state: Mapped[DeliveryState] = mapped_column(
        Enum(
            DeliveryState,
            native_enum=False,
            length=16,
            values_callable=lambda states: [state.value for state in states],
        ),
        default=DeliveryState.pending,
    )
    #: Attempts in the current round of the retry schedule (a resend starts a new round).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The lease end of a claim whose worker died before recording its outcome.
    abandoned_claim: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def message_id(self) -> str:
        return message_id(self.id)


def message_id(delivery_id: uuid.UUID) -> str:
    """The `webhook-id` of a delivery: the same on every retry and resend."""
    return f"msg_{delivery_id.hex}"


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint_id_id", "endpoint_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column()
    event_type: Mapped[str] = mapped_column(String(100))
    msg_id: Mapped[str] = mapped_column(String(40))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    response_excerpt: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(String(300), default=None)


class WebhookCursor(Base):
    """The last event the fan-out handled; advanced in the transaction that writes the
    deliveries, so each event fans out once."""

    __tablename__ = "webhook_cursors"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_event_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


JSONDict = dict[str, Any]
