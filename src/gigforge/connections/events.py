"""The events the connections domain publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from gigforge.kit.outbox import EventPayload, event_type

_CONNECTION = "01939a2f-0a11-7d3e-8b2c-5f7e9d1c3a44"


@event_type(
    "connection.needs_reauth",
    summary="A connection's grant expired or was revoked; the user must sign in to it again",
    example={"connection_id": _CONNECTION, "integration": "upwork"},
)
class ConnectionNeedsReauth(EventPayload):
    connection_id: uuid.UUID
    integration: str


@event_type(
    "quota.threshold",
    summary=(
        "A connection used 80, 95 or 100% of an hourly or daily quota of its provider "
        "(once per threshold per window)"
    ),
    example={
        "connection_id": _CONNECTION,
        "integration": "freelancer",
        "limit": "1000 per 1 hour",
        "threshold_percent": 95,
        "used_percent": 95.2,
        "resets_at": "2026-12-03T11:00:00Z",
    },
)
class QuotaThreshold(EventPayload):
    connection_id: uuid.UUID
    integration: str
    limit: str
    threshold_percent: int
    used_percent: float
    resets_at: datetime
