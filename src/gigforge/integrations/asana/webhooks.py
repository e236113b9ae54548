"""Asana webhooks as Asana documents them (https://developers.asana.com/docs/webhooks-guide).

Creating a webhook (`POST /webhooks`) makes Asana POST to the target, while the create call is
still in flight, a handshake carrying `X-Hook-Secret`; the target must answer 200 or 204 with
the same header, and keep the secret. Every later delivery carries `X-Hook-Signature`, the hex
HMAC-SHA256 of the raw body keyed with that secret, and a body `{"events": [...]}` (empty for
the heartbeats Asana sends to keep a quiet webhook alive).

Asana signs no timestamp, so a captured delivery stays valid under its signature. What bounds
a replay is that Asana resends a failed delivery for at most 24 hours and then gives up: a
delivery whose newest event is older than that (plus a margin for clock skew) was not sent by
Asana just now, and is refused as stale. Inside that window replays are harmless here, since a
change only tells the sync engine which record to read again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from gigforge.integrations.asana.errors import (
    AsanaPayloadError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from gigforge.integrations.asana.mapping import as_mapping, parse_time, to_changes
from gigforge.integrations.asana.spec import SPEC
from gigforge.integrations.framework.records import WebhookReceipt

SECRET_HEADER = "X-Hook-Secret"  # noqa: S105 - a header name
SIGNATURE_HEADER = "X-Hook-Signature"
# Asana retries a delivery for up to 24 hours; an hour of margin covers clock skew.
MAX_DELIVERY_AGE = timedelta(hours=25)


def sign(secret: str, body: bytes) -> str:
    """The `X-Hook-Signature` Asana sends with `body`."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(header: str | None, body: bytes, secret: str) -> None:
    """Check `X-Hook-Signature` against the raw body, in constant time."""
    if not header:
        raise _refused(f"the {SIGNATURE_HEADER} header is missing")
    expected = sign(secret, body).encode()
    # Bytes: compare_digest refuses a str with non-ASCII characters with a TypeError.
    if not hmac.compare_digest(expected, header.strip().lower().encode("utf-8", "replace")):
        raise _refused(f"the {SIGNATURE_HEADER} does not match the body")


def read_webhook(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | None,
    now: datetime | None = None,
) -> WebhookReceipt:
    """A handshake (when no secret is kept yet) or a signed delivery, read as Asana sends
    them; anything else raises."""
    lowered = {name.lower(): value for name, value in headers.items()}
    handshake = lowered.get(SECRET_HEADER.lower())
    if handshake is not None:
        if secret is not None:
            # A subscription's secret is set once; a second handshake is someone else's.
            raise _refused("a handshake arrived for a subscription that already has a secret")
        if not handshake.strip():
            raise _refused(f"the {SECRET_HEADER} header is empty")
        return WebhookReceipt(reply_headers={SECRET_HEADER: handshake}, secret=handshake)
    if secret is None:
        raise _refused("no secret is kept for this subscription, and this is no handshake")
    verify_signature(lowered.get(SIGNATURE_HEADER.lower()), body, secret)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookPayloadError(
            f"{SPEC.title}: the webhook body is not JSON", integration=SPEC.slug
        ) from None
    events = as_mapping(payload).get("events")
    if not isinstance(events, list):
        raise WebhookPayloadError(
            f"{SPEC.title}: the webhook body has no events list", integration=SPEC.slug
        )
    try:
        changes = to_changes(events)
        times = [parse_time(as_mapping(e).get("created_at")) for e in events]
    except AsanaPayloadError as exc:
        raise WebhookPayloadError(exc.detail, integration=SPEC.slug) from None
    moment = now or datetime.now(UTC)
    if times and moment - max(times) > MAX_DELIVERY_AGE:
        raise _refused("the delivery is older than Asana ever retries one")
    return WebhookReceipt(changes=changes)


def _refused(why: str) -> WebhookSignatureError:
    return WebhookSignatureError(f"{SPEC.title} webhook refused: {why}", integration=SPEC.slug)
