"""The events the opportunities domain publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid

from gigforge.kit.outbox import EventPayload, event_type


@event_type(
    "opportunity.found",
    summary="A new listing was stored for the user (not a near-duplicate of one already found)",
    example={
        "opportunity_id": "01939a30-77aa-7b61-9d0e-2c4f8a1b6e55",
        "platform": "freelancer",
        "title": "Build a FastAPI backend for a booking app",
    },
)
class OpportunityFound(EventPayload):
    opportunity_id: uuid.UUID
    platform: str
    title: str
