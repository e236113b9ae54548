"""The events the webhooks domain publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid

from gigforge.kit.outbox import EventPayload, event_type

_ENDPOINT = "0193a1b2-4c5d-7e6f-8a9b-0c1d2e3f4a5b"


@event_type(
    "webhook.endpoint_disabled",
    summary="A webhook endpoint was disabled: it answered 410 Gone, or failed every delivery "
    "for 5 days",
    example={"endpoint_id": _ENDPOINT, "reason": "failed every delivery for 5 days"},
)
class WebhookEndpointDisabled(EventPayload):
    endpoint_id: uuid.UUID
    reason: str


@event_type(
    "webhook.test",
    summary="A test message sent to one endpoint on request; never fanned out to others",
    example={"endpoint_id": _ENDPOINT, "message": "Test message from Gigforge"},
)
class WebhookTest(EventPayload):
    endpoint_id: uuid.UUID
    message: str
