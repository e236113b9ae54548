"""HubSpot webhook signatures (v3), verified as HubSpot documents them.

HubSpot signs each webhook request with the app's client secret
(https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests):
`X-HubSpot-Signature-v3` is the base64 HMAC-SHA256 of the method, the full request URI, the
raw body and the `X-HubSpot-Request-Timestamp` header (Unix milliseconds), concatenated in that
order with nothing between. Before signing, the URI's percent-encoded `: / ? @ ! $ ' ( ) * , ;`
are decoded, as HubSpot does. A request whose timestamp is more than five minutes old is
refused (and one as far in the future, which only a wrong clock or a forger sends), so a
captured delivery cannot be replayed later; within the window HubSpot's `eventId` lets the
sync engine apply each event once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.hubspot.spec import SPEC

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE_MS = 5 * 60 * 1000
# The percent-encodings HubSpot decodes in the URI before it signs.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ENCODED = re.compile("|".join(_DECODED), re.IGNORECASE)


class WebhookSignatureError(Permanent):
    """The request is not provably from HubSpot, or too old (or new) to trust. Answered 400:
    HubSpot retries a failed delivery, a forger learns nothing."""

    status_code = 400
    code = "integration-webhook-signature"
    title = "The webhook signature could not be verified"


def signed_uri(url: str) -> str:
    return _ENCODED.sub(lambda match: _DECODED[match.group(0).upper()], url)


def sign(secret: str, *, method: str, url: str, body: bytes, timestamp: str) -> str:
    """The `X-HubSpot-Signature-v3` HubSpot would send for this request."""
    source = method.upper().encode() + signed_uri(url).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), source, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    url: str,
    method: str = "POST",
    now_ms: int | None = None,
    max_age_ms: int = MAX_AGE_MS,
) -> int:
    """Check the v3 signature against the raw body; returns the signed timestamp (ms)."""
    signature = header_value(headers, SIGNATURE_HEADER)
    timestamp = header_value(headers, TIMESTAMP_HEADER)
    if not signature:
        raise _refused(f"the {SIGNATURE_HEADER} header is missing")
    if not timestamp:
        raise _refused(f"the {TIMESTAMP_HEADER} header is missing")
    # ASCII digits of a plausible length: int() would take "١٢٣" or thousands of digits.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 15):
        raise _refused(f"the {TIMESTAMP_HEADER} header is not a time in milliseconds")
    expected = sign(secret, method=method, url=url, body=body, timestamp=timestamp).encode()
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise _refused("the signature does not match the request and the app's client secret")
    age = (int(time.time() * 1000) if now_ms is None else now_ms) - int(timestamp)
    if abs(age) > max_age_ms:
        when = "old" if age > 0 else "far in the future"
        raise _refused(f"the request is {abs(age) // 1000}s {when} (at most {max_age_ms // 1000}s)")
    return int(timestamp)


def read_events(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    url: str,
    method: str = "POST",
    now_ms: int | None = None,
) -> list[Any]:
    """Verify a webhook request, then return its events (HubSpot sends a JSON array)."""
    verify_signature(headers, body, secret=secret, url=url, method=method, now_ms=now_ms)
    try:
        events = json.loads(body)
    except (ValueError, RecursionError):
        raise Permanent(
            f"{SPEC.title}: the signed webhook body is not JSON", integration=SPEC.slug
        ) from None
    if not isinstance(events, list):
        raise Permanent(
            f"{SPEC.title}: the signed webhook body is not an array of events",
            integration=SPEC.slug,
        )
    return events


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header from any mapping: HTTP header names are case-insensitive, dict keys are not."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for key, v in headers.items() if key.lower() == wanted), None)


def _refused(reason: str) -> WebhookSignatureError:
    return WebhookSignatureError(f"HubSpot webhook refused: {reason}", integration=SPEC.slug)
