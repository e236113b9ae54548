"""Verifying Jira Cloud webhook deliveries, the two ways Atlassian documents
(https://developer.atlassian.com/cloud/jira/platform/webhooks/).

- Admin webhooks registered with a secret (the admin page or `/rest/webhooks/1.0/webhook`) carry
  `X-Hub-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with that secret
  (WebSub's `method=signature`). Nothing but the body is signed, so the freshness check reads
  the body's own signed `timestamp` (milliseconds).
- Dynamic webhooks an OAuth 2.0 app registers (`POST /rest/api/3/webhook`) are not
  HMAC-signed: each request carries `Authorization: Bearer <JWT>`, signed HS256 with the app's
  client secret. Atlassian does not list the token's claims, so the signature is what is
  checked, plus `exp`/`iat` when present; freshness again comes from the body's `timestamp`.

Either way the signature is checked on the bytes received, in constant time, before any JSON is
read. `X-Atlassian-Webhook-Identifier` names the delivery (the same on Jira's retries), and is
passed on as the change's event id so the engine can drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import jwt

from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.jira.spec import SPEC

SIGNATURE_HEADER = "X-Hub-Signature"
SIGNATURE_PREFIX = "sha256="
IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
# Jira retries a failed delivery with the original body (and timestamp) for a while; Atlassian
# does not document for how long, so a day is allowed before a signed body counts as stale.
DEFAULT_TOLERANCE_SECONDS = 24 * 3600
JWT_LEEWAY_SECONDS = 60


class WebhookRefused(Permanent):
    status_code = 401
    code = "jira-webhook-refused"
    title = "The Jira webhook could not be verified"


def sign_body(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Jira sends for an admin webhook with this secret."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def app_token(client_secret: str, *, issued_at: int, ttl: int = 300, **claims: Any) -> str:
    """A bearer JWT as Jira sends it with a dynamic webhook (used by the sandbox)."""
    payload = {"iat": issued_at, "exp": issued_at + ttl, **claims}
    return jwt.encode(payload, client_secret, algorithm="HS256")


def verify_delivery(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | None,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Mapping[str, Any]:
    """Check the delivery's signature with `secret` (the admin webhook's secret, or the OAuth
    app's client secret for a dynamic webhook) and return its parsed body."""
    if not secret:
        raise _refused("no secret to verify it with")
    clock = time.time() if now is None else now
    signature = header_value(headers, SIGNATURE_HEADER)
    authorization = header_value(headers, "Authorization") or ""
    if signature is not None:
        _check_hub_signature(signature, body, secret)
    elif authorization.lower().startswith("bearer "):
        _check_app_token(authorization[7:].strip(), secret, clock)
    else:
        raise _refused(f"neither {SIGNATURE_HEADER} nor a bearer token is present")
    payload = _json(body)
    timestamp = payload.get("timestamp")
    if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
        raise _refused("the signed body has no timestamp")
    age = clock - timestamp / 1000
    if abs(age) > tolerance:
        when = "old" if age > 0 else "in the future"
        raise _refused(f"the signed timestamp is {abs(age):.0f}s {when} (tolerance {tolerance}s)")
    return payload


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for key, v in headers.items() if key.lower() == wanted), None)


def _check_hub_signature(signature: str, body: bytes, secret: str) -> None:
    if not signature.startswith(SIGNATURE_PREFIX):
        raise _refused(f"{SIGNATURE_HEADER} is not a sha256 signature")
    expected = sign_body(secret, body).encode()
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace")):
        raise _refused("the signature does not match the body and the webhook's secret")


def _check_app_token(token: str, secret: str, now: float) -> None:
    try:
        # Verifies the HS256 signature in constant time; the times are checked below against
        # the caller's clock.
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
            },
        )
    except jwt.PyJWTError:
        raise _refused("the bearer token is not signed with the app's client secret") from None
    expires = claims.get("exp")
    if isinstance(expires, int | float) and now > expires + JWT_LEEWAY_SECONDS:
        raise _refused("the bearer token has expired")
    issued = claims.get("iat")
    if isinstance(issued, int | float) and issued > now + JWT_LEEWAY_SECONDS:
        raise _refused("the bearer token was issued in the future")


def _json(body: bytes) -> Mapping[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise _refused("the signed body is not JSON") from None
    if not isinstance(payload, Mapping):
        raise _refused("the signed body is not a JSON object")
    return payload


def _refused(reason: str) -> WebhookRefused:
    return WebhookRefused(f"Jira webhook refused: {reason}", integration=SPEC.slug)
