"""Trello webhook signatures, verified as Trello documents them.

Each delivery carries `X-Trello-Webhook`: the base64 digest of HMAC-SHA1, keyed with the app's
secret, over the raw request body followed by the callback URL exactly as it was given when
the webhook was created (https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/
#webhook-signatures). Binding the URL means a delivery for another endpoint does not verify
here.

Trello signs no timestamp. The action's `date` is inside the signed body, though, so a
captured delivery can be refused once its action is older than `DEFAULT_MAX_AGE_SECONDS`:
Gigforge's own bound, well past Trello's retries of a failed delivery (after 30, 60 and 120
seconds). Inside that window the action id (`RemoteChange.event_id`) is what de-duplicates.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.framework.records import WebhookReceipt
from gigforge.integrations.trello.mapping import as_mapping, parse_time, to_change
from gigforge.integrations.trello.spec import SPEC

SIGNATURE_HEADER = "X-Trello-Webhook"
DEFAULT_MAX_AGE_SECONDS = 3600
# A sender's clock a little ahead of ours is tolerated; far ahead is not.
FUTURE_SKEW_SECONDS = 300


class WebhookRefused(Permanent):
    """The delivery is not provably from Trello for this endpoint, or is too old to trust."""

    status_code = 400
    code = "integration-webhook-refused"
    title = "The webhook delivery could not be verified"


def sign(secret: str, body: bytes | str, callback_url: str) -> str:
    """The `X-Trello-Webhook` value Trello sends with `body` to `callback_url`."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(secret.encode(), raw + callback_url.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_signature(header: str | None, body: bytes, secret: str, callback_url: str) -> None:
    if not header:
        raise _refused(f"the {SIGNATURE_HEADER} header is missing")
    expected = sign(secret, body, callback_url).encode()
    if not hmac.compare_digest(expected, header.strip().encode("utf-8", "replace")):
        raise _refused("the signature does not match the body, the callback URL and the secret")


def read_delivery(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str,
    callback_url: str,
    max_age: float = DEFAULT_MAX_AGE_SECONDS,
    now: float | None = None,
) -> WebhookReceipt:
    """Verify a delivery, then read the change its action announces."""
    verify_signature(header_value(headers, SIGNATURE_HEADER), body, secret, callback_url)
    try:
        payload: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise _refused("the signed body is not JSON") from None
    action = as_mapping(as_mapping(payload).get("action"))
    if not action:
        raise _refused("the signed body carries no action")
    when = parse_time(action.get("date"))
    if when is None:
        raise _refused("the action has no date")
    age = (time.time() if now is None else now) - when.timestamp()
    if age > max_age:
        raise _refused(f"the action is {age:.0f}s old (at most {max_age:.0f}s is accepted)")
    if age < -FUTURE_SKEW_SECONDS:
        raise _refused(f"the action is dated {-age:.0f}s in the future")
    change = to_change(action)
    return WebhookReceipt(changes=[change] if change is not None else [])


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header from any mapping: HTTP header names are case-insensitive, dict keys are not."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for key, v in headers.items() if key.lower() == wanted), None)


def _refused(reason: str) -> WebhookRefused:
    return WebhookRefused(f"Trello webhook refused: {reason}", integration=SPEC.slug)
