"""Anthropic failures as framework errors, whichever road they took out of the SDK.

The policy transport under the SDK raises framework errors itself (AuthExpired on 401,
RateLimited on 429, Permanent on other 4xx, Transient on 5xx including 529 `overloaded_error`);
the SDK wraps whatever its HTTP client raises in `APIConnectionError`, so a framework error found
anywhere in the `__cause__`/`__context__` chain is unwrapped. A status error the SDK builds
itself (when its client has no policy transport) is mapped by status. Either way Anthropic's own
message from its error envelope (https://platform.claude.com/docs/en/api/errors) becomes the
error's detail:

    {"type": "error", "error": {"type": "not_found_error", "message": "..."}, "request_id": "..."}

A 429 whose `error.details.error_code` is `enforced_spend_limit_reached` means the organization's
monthly spend cap is reached: it carries no `retry-after`, and waiting within the month will not
help, so it is Permanent rather than RateLimited.

The SDK is imported inside the functions that need it, never with this module: by the time one
runs, the connector has built its client and the import is a lookup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gigforge.integrations.anthropic.spec import SPEC
from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.framework.errors import integration_cause

if TYPE_CHECKING:
    import anthropic

SPEND_LIMIT_CODE = "enforced_spend_limit_reached"


@contextmanager
def anthropic_errors() -> Iterator[None]:
    """Run an SDK call so that it fails only with framework errors."""
    import anthropic

    try:
        yield
    except IntegrationError as exc:
        translated = with_provider_message(exc)
        if translated is exc:
            raise
        raise translated from exc
    except anthropic.AnthropicError as exc:
        raise from_sdk_error(exc) from exc


def error_envelope(body: object) -> Mapping[str, Any] | None:
    """The `error` object of an Anthropic error body (text or parsed JSON), if it is one."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error")
    if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
        return {**inner, "request_id": body.get("request_id")}
    return None


def with_provider_message(error: IntegrationError) -> IntegrationError:
    """A transport error whose body excerpt is an Anthropic envelope, retold in its words."""
    if not isinstance(error, Permanent | Transient | RateLimited):
        return error
    envelope = error_envelope(error.extensions.get("body"))
    if envelope is None:
        return error
    if isinstance(error, RateLimited) and not is_spend_limit(envelope):
        return error
    kind = Permanent if isinstance(error, RateLimited) else type(error)
    return kind(
        f"Anthropic: {envelope['message']}",
        integration=error.integration,
        status=error.upstream_status,
        **_envelope_fields(envelope),
    )


def from_sdk_error(exc: anthropic.AnthropicError) -> IntegrationError:
    import anthropic

    cause = integration_cause(exc)
    if cause is not None:
        return with_provider_message(cause)
    if isinstance(exc, anthropic.APIStatusError):
        return from_status_error(exc)
    if isinstance(exc, anthropic.APIConnectionError):
        return Transient(f"Anthropic: {exc.message}", integration=SPEC.slug)
    return Permanent(f"Anthropic: {exc}", integration=SPEC.slug)


def from_status_error(exc: anthropic.APIStatusError) -> IntegrationError:
    envelope = error_envelope(exc.body) or {}
    detail = f"Anthropic: {envelope.get('message') or exc.message}"
    fields = _envelope_fields(envelope)
    status = exc.status_code
    if status == 401:
        return AuthExpired(detail, integration=SPEC.slug, status=status, **fields)
    if status == 429 and not is_spend_limit(envelope):
        return RateLimited(
            detail,
            integration=SPEC.slug,
            retry_after=retry_after_seconds(exc.response.headers) or 0.0,
            status=status,
            **fields,
        )
    if status in (408, 409) or status >= 500:
        return Transient(detail, integration=SPEC.slug, status=status, **fields)
    return Permanent(detail, integration=SPEC.slug, status=status, **fields)


def is_spend_limit(envelope: Mapping[str, Any]) -> bool:
    details = envelope.get("details")
    return isinstance(details, Mapping) and details.get("error_code") == SPEND_LIMIT_CODE


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Anthropic's `retry-after`, in seconds."""
    lowered = {key.lower(): value for key, value in headers.items()}
    try:
        return max(0.0, float(lowered["retry-after"]))
    except (KeyError, ValueError):
        return None


def _envelope_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {"anthropic_type": envelope.get("type"), "request_id": envelope.get("request_id")}
