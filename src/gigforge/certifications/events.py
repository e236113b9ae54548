"""The events the certifications domain publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from gigforge.kit.outbox import EventPayload, event_type


@event_type(
    "certification.passed",
    summary="A user passed a certification exam (a full exam, or a renewal that extends it)",
    example={
        "level": 1,
        "attempt_id": "01939a2e-5f62-7045-8c76-33b5ea260ff4",
        "kind": "exam",
        "score_percent": 90,
        "expires_at": "2027-12-03T13:00:00Z",
    },
)
class CertificationPassed(EventPayload):
    level: int
    attempt_id: uuid.UUID
    kind: str
    score_percent: int
    expires_at: datetime


@event_type(
    "certification.expired",
    summary="A certification level reached its expiry without a renewal",
    example={"level": 2, "expired_at": "2027-12-03T13:00:00Z"},
)
class CertificationExpired(EventPayload):
    level: int
    expired_at: datetime
