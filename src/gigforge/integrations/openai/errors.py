"""OpenAI failures as framework errors, whichever road they took out of the SDK.

The policy transport under the SDK raises framework errors itself (AuthExpired on 401,
RateLimited on 429, Permanent on other 4xx, Transient on 5xx). SDK 3.x lets those through
unchanged; 1.x caught every exception of the transport and raised `APIConnectionError` from it,
so a framework error found anywhere in the `__cause__`/`__context__` chain is unwrapped. A
status error the SDK builds itself (when its client has no policy transport) is mapped by
status. Either way OpenAI's own message from its error envelope
(https://platform.openai.com/docs/guides/error-codes) becomes the error's detail:

    {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": "..."}}

The SDK is imported inside the functions that need it, never with this module: by the time one
runs, the connector has built its client and the import is a lookup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.framework.errors import integration_cause
from gigforge.integrations.openai.spec import SPEC

if TYPE_CHECKING:
    import openai

# A 429 with these means the balance or monthly budget is spent: waiting will not help.
QUOTA_ERRORS = frozenset({"insufficient_quota", "credit_balance_exhausted"})


@contextmanager
def openai_errors() -> Iterator[None]:
    """Run an SDK call so that it fails only with framework errors."""
    import openai

    try:
        yield
    except IntegrationError as exc:
        translated = with_provider_message(exc)
        if translated is exc:
            raise
        raise translated from exc
    except openai.OpenAIError as exc:
        raise from_sdk_error(exc) from exc


def error_envelope(body: object) -> Mapping[str, Any] | None:
    """The `error` object of an OpenAI error body (text or parsed JSON), if it is one."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error", body)
    if isinstance(inner, Mapping) and isinstance(inner.get("message"), str):
        return inner
    return None


def with_provider_message(error: IntegrationError) -> IntegrationError:
    """A transport error whose body excerpt is an OpenAI envelope, retold in OpenAI's words."""
    if not isinstance(error, Permanent | Transient):
        return error
    envelope = error_envelope(error.extensions.get("body"))
    if envelope is None:
        return error
    return type(error)(
        f"OpenAI: {envelope['message']}",
        integration=error.integration,
        status=error.upstream_status,
        **_envelope_fields(envelope),
    )


def from_sdk_error(exc: openai.OpenAIError) -> IntegrationError:
    import openai

    cause = integration_cause(exc)
    if cause is not None:
        return with_provider_message(cause)
    if isinstance(exc, openai.APIStatusError):
        return from_status_error(exc)
    if isinstance(exc, openai.APIConnectionError):
        return Transient(f"OpenAI: {exc.message}", integration=SPEC.slug)
    return Permanent(f"OpenAI: {exc}", integration=SPEC.slug)


def from_status_error(exc: openai.APIStatusError) -> IntegrationError:
    envelope = error_envelope(exc.body) or {}
    detail = f"OpenAI: {envelope.get('message') or exc.message}"
    fields = _envelope_fields(envelope)
    status = exc.status_code
    if status == 401:
        return AuthExpired(detail, integration=SPEC.slug, status=status, **fields)
    if status == 429 and not QUOTA_ERRORS & {fields["openai_type"], fields["openai_code"]}:
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


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """OpenAI's `retry-after-ms` when present (finer), else `Retry-After` in seconds."""
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            return max(0.0, float(lowered[name]) * scale)
        except (KeyError, ValueError):
            continue
    return None


def _envelope_fields(envelope: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "openai_type": envelope.get("type"),
        "openai_code": envelope.get("code"),
        "openai_param": envelope.get("param"),
    }
