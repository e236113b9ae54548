"""Stripe webhook signatures, verified as Stripe documents them, and replay protection.

Stripe signs each delivery with the endpoint's secret and sends
`Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>...]`, where each `v1` is
HMAC-SHA256(secret, "<t>.<raw body>"). Several `v1` values appear while a secret is being
rolled; other schemes (`v0`) are ignored. The timestamp is signed too, so a delivery captured
off the wire cannot be replayed once it is older than the tolerance (five minutes by default, as
in Stripe's libraries). See https://docs.stripe.com/webhooks#verify-manually.

Inside that window a captured delivery can still be replayed; `StripeWebhookReceiver` refuses
an event id it has already seen. Stripe's own retries of a failed delivery carry a fresh
timestamp and may come days later, so handlers must still process each event id only once
(the database row for the event is the lasting guard).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Protocol

from gigforge.integrations.framework import Payments, WebhookEvent
from gigforge.integrations.stripe.errors import (
    StripePayloadError,
    WebhookPayloadError,
    WebhookReplayError,
    WebhookSignatureError,
)
from gigforge.integrations.stripe.mapping import StripeEvent, to_event
from gigforge.integrations.stripe.spec import SPEC

SIGNATURE_HEADER = "Stripe-Signature"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300
REPLAY_MARGIN_SECONDS = 60


def sign_payload(secret: str, payload: bytes | str, timestamp: int) -> str:
    """The `Stripe-Signature` value Stripe would send with `payload` at `timestamp`."""
    return f"t={timestamp},{SIGNATURE_SCHEME}={_signature(secret, payload, timestamp)}"


def verify_signature(
    header: str | None,
    payload: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check `Stripe-Signature` against the raw body; returns the signed timestamp.

    The body must be the bytes as received: re-serialized JSON no longer matches.
    """
    if not header:
        raise _refused(f"the {SIGNATURE_HEADER} header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            # ASCII digits, no longer than any time near now: int() and the age below would
            # otherwise accept "١٢٣" or overflow a float on a few hundred digits.
            if not (value.isascii() and value.isdigit() and len(value) <= 12):
                raise _refused(f"the {SIGNATURE_HEADER} timestamp is not a number")
            timestamp = int(value)
        elif name == SIGNATURE_SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise _refused(f"the {SIGNATURE_HEADER} header has no timestamp")
    if not signatures:
        raise _refused(f"the {SIGNATURE_HEADER} header has no {SIGNATURE_SCHEME} signature")
    expected = _signature(secret, payload, timestamp).encode()
    # Bytes: compare_digest raises TypeError for a str with non-ASCII characters.
    if not any(
        hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
        for candidate in signatures
    ):
        raise _refused("no signature matches the payload and the endpoint's signing secret")
    age = (time.time() if now is None else now) - timestamp
    if abs(age) > tolerance:
        when = "old" if age > 0 else "far in the future"
        raise _refused(f"the signed timestamp is {abs(age):.0f}s {when} (tolerance {tolerance}s)")
    return timestamp


def construct_event(
    headers: Mapping[str, str],
    payload: bytes,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> StripeEvent:
    """Verify a delivery, then parse its body into an event."""
    verify_signature(
        header_value(headers, SIGNATURE_HEADER), payload, secret, tolerance=tolerance, now=now
    )
    try:
        raw = json.loads(payload)
    except ValueError:
        raise WebhookPayloadError(
            "the signed webhook body is not JSON", integration=SPEC.slug
        ) from None
    except RecursionError:
        raise WebhookPayloadError(
            "the signed webhook body is nested too deeply to be an event", integration=SPEC.slug
        ) from None
    if not isinstance(raw, Mapping) or raw.get("object") != "event":
        raise WebhookPayloadError(
            "the signed webhook body is not a Stripe event object", integration=SPEC.slug
        )
    try:
        return to_event(raw)
    except StripePayloadError as exc:
        raise WebhookPayloadError(exc.detail, integration=SPEC.slug) from exc


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header from any mapping: HTTP header names are case-insensitive, dict keys are not."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for key, v in headers.items() if key.lower() == wanted), None)


def _signature(secret: str, payload: bytes | str, timestamp: int) -> str:
    body = payload.encode() if isinstance(payload, str) else payload
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _refused(reason: str) -> WebhookSignatureError:
    return WebhookSignatureError(f"Stripe webhook refused: {reason}", integration=SPEC.slug)


class ReplayGuard(Protocol):
    async def first_seen(self, event_id: str) -> bool:
        """Record `event_id`; False when it was already recorded."""


class MemoryReplayGuard:
    """Event ids seen by this process during the signature tolerance window plus a margin.

    Older deliveries already fail the timestamp check, so nothing outlives the window, and at
    most `max_entries` ids are kept (the oldest go first) so a flood cannot exhaust memory.
    Several processes need a shared guard (a database or Redis) instead.
    """

    def __init__(
        self,
        *,
        window_seconds: float = DEFAULT_TOLERANCE_SECONDS + REPLAY_MARGIN_SECONDS,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_seconds = window_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._expiries: OrderedDict[str, float] = OrderedDict()

    async def first_seen(self, event_id: str) -> bool:
        now = self.clock()
        while self._expiries and next(iter(self._expiries.values())) <= now:
            self._expiries.popitem(last=False)
        if event_id in self._expiries:
            return False
        self._expiries[event_id] = now + self.window_seconds
        while len(self._expiries) > self.max_entries:
            self._expiries.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._expiries)


class StripeWebhookReceiver:
    """Verifies each delivery with the connection's secret and refuses replays."""

    def __init__(self, connector: Payments, replay_guard: ReplayGuard) -> None:
        self.connector = connector
        self.replay_guard = replay_guard

    async def receive(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        event = self.connector.parse_webhook(headers, body)
        if not await self.replay_guard.first_seen(event.id):
            raise WebhookReplayError(
                f"Stripe event {event.id} was already received", integration=SPEC.slug
            )
        return event
