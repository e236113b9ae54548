"""Gemini failures as framework errors, classed by what Google says rather than by status alone.

The policy transport under the SDK raises framework errors itself, from the HTTP status
(Permanent on 4xx, RateLimited on 429, Transient on 5xx), with an excerpt of the body. Google's
error body (https://ai.google.dev/gemini-api/docs/troubleshooting, shaped by
https://google.aip.dev/193) says more:

    {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
               "status": "INVALID_ARGUMENT",
               "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}

Google answers a wrong key with that 400 (not 401), and a missing, leaked or blocked key, or a
project with the API switched off, with 403 PERMISSION_DENIED; both become AuthExpired, since
only a working key fixes them. A 429 RESOURCE_EXHAUSTED carries its wait in a
`google.rpc.RetryInfo` detail (`"retryDelay": "36s"`) instead of a header, so RateLimited takes it
from there. An error the SDK builds itself (a client without the policy transport) is classed
the same way from its parsed body. Either way Google's message becomes the error's detail.

The SDK is imported inside the functions that need it, never with this module: by the time one
runs, the connector has built its client and the import is a lookup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.gemini.spec import SPEC

if TYPE_CHECKING:
    from google.genai import errors as genai_errors

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
KEY_REFUSED_REASONS = frozenset({"API_KEY_INVALID"})


@contextmanager
def gemini_errors() -> Iterator[None]:
    """Run an SDK call so that it fails only with framework errors, in Google's words."""
    from google.genai import errors as genai_errors

    try:
        yield
    except IntegrationError as exc:
        translated = from_transport_error(exc)
        if translated is exc:
            raise
        raise translated from exc
    except genai_errors.APIError as exc:
        raise from_api_error(exc) from exc


def error_envelope(body: object) -> Mapping[str, Any] | None:
    """The `error` object of a Google error body (text or parsed JSON), if it is one."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    # Streaming endpoints wrap the error in a one-element array.
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error", body)
    if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
        return inner
    return None


def from_transport_error(error: IntegrationError) -> IntegrationError:
    """A transport error whose body excerpt is a Google envelope, reclassed and retold."""
    envelope = error_envelope(error.extensions.get("body"))
    if envelope is None:
        return error
    status = error.upstream_status or _int(envelope.get("code"))
    retry_after = error.retry_after if isinstance(error, RateLimited) else None
    return classify(status, envelope, retry_after=retry_after)


def from_api_error(exc: genai_errors.APIError) -> IntegrationError:
    envelope = error_envelope(exc.details) or {"message": exc.message or str(exc)}
    return classify(exc.code, envelope, retry_after=None)


def classify(
    status: int | None, envelope: Mapping[str, Any], *, retry_after: float | None
) -> IntegrationError:
    detail = f"Gemini: {envelope['message']}"
    fields = _envelope_fields(envelope)
    if status == 401 or status == 403 or fields["google_reason"] in KEY_REFUSED_REASONS:
        return AuthExpired(detail, integration=SPEC.slug, status=status, **fields)
    if status == 429:
        return RateLimited(
            detail,
            integration=SPEC.slug,
            retry_after=retry_delay_seconds(envelope) or retry_after or 0.0,
            status=status,
            quota_ids=quota_ids(envelope),
            **fields,
        )
    if status is None or status == 408 or status >= 500:
        return Transient(detail, integration=SPEC.slug, status=status, **fields)
    return Permanent(detail, integration=SPEC.slug, status=status, **fields)


def retry_delay_seconds(envelope: Mapping[str, Any]) -> float | None:
    """The `RetryInfo.retryDelay` of an error, a protobuf Duration such as `"36s"` or `"0.5s"`."""
    info = _detail(envelope, RETRY_INFO)
    delay = info.get("retryDelay") if info else None
    if not isinstance(delay, str) or not delay.endswith("s"):
        return None
    try:
        return max(0.0, float(delay.removesuffix("s")))
    except ValueError:
        return None


def quota_ids(envelope: Mapping[str, Any]) -> tuple[str, ...]:
    """Which quotas a 429 names, e.g. `GenerateRequestsPerDayPerProjectPerModel-FreeTier`."""
    failure = _detail(envelope, QUOTA_FAILURE)
    violations: Sequence[Any] = (failure or {}).get("violations") or ()
    return tuple(
        str(violation["quotaId"])
        for violation in violations
        if isinstance(violation, Mapping) and violation.get("quotaId")
    )


def _detail(envelope: Mapping[str, Any], type_url: str) -> Mapping[str, Any] | None:
    details: Sequence[Any] = envelope.get("details") or ()
    for detail in details:
        if isinstance(detail, Mapping) and detail.get("@type") == type_url:
            return detail
    return None


def _envelope_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    info = _detail(envelope, ERROR_INFO) or {}
    return {"google_status": envelope.get("status"), "google_reason": info.get("reason")}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
