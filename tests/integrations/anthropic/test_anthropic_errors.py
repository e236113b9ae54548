"""Every way an Anthropic failure leaves the SDK ends as one framework error."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import pytest

from gigforge.integrations.anthropic.errors import (
    anthropic_errors,
    error_envelope,
    from_sdk_error,
    from_status_error,
    retry_after_seconds,
    with_provider_message,
)
from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationError,
    NotSupported,
    Permanent,
    RateLimited,
    Transient,
)

REQUEST = httpx2.Request("POST", "https://api.anthropic.com/v1/messages")
REQUEST_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"


def envelope(message: str, *, type_: str, **error: Any) -> dict[str, Any]:
    """Anthropic's documented error body (https://platform.claude.com/docs/en/api/errors)."""
    return {
        "type": "error",
        "error": {"type": type_, "message": message, **error},
        "request_id": REQUEST_ID,
    }


def status_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> anthropic.APIStatusError:
    """What the SDK raises for an error response it reads itself: its `body` is the whole
    parsed envelope."""
    response = httpx2.Response(status, headers=headers, json=body, request=REQUEST)
    return anthropic.APIStatusError(f"Error code: {status}", response=response, body=body)


def transport_error(kind: type[IntegrationError], status: int, body: object) -> IntegrationError:
    """The policy transport's error, with its excerpt of the body."""
    text = json.dumps(body)
    if kind is RateLimited:
        return RateLimited(
            "Anthropic asked us to slow down",
            integration="anthropic",
            retry_after=0.0,
            status=status,
            body=text,
        )
    return kind("Anthropic rejected it", integration="anthropic", status=status, body=text)


MISSING_MAX_TOKENS = envelope("max_tokens: Field required", type_="invalid_request_error")
SPEND_CAP_MESSAGE = "You have reached your monthly spend limit for your usage tier."
SPEND_CAP = envelope(
    SPEND_CAP_MESSAGE,
    type_="rate_limit_error",
    details={"error_code": "enforced_spend_limit_reached"},
)


def test_a_transport_error_wrapped_by_the_sdk_is_unwrapped_in_anthropics_words() -> None:
    wrapped = anthropic.APIConnectionError(request=REQUEST)
    wrapped.__cause__ = transport_error(Permanent, 400, MISSING_MAX_TOKENS)

    error = from_sdk_error(wrapped)

    assert isinstance(error, Permanent)
    assert error.detail == "Anthropic: max_tokens: Field required"
    assert error.upstream_status == 400
    assert error.extensions["anthropic_type"] == "invalid_request_error"
    assert error.extensions["request_id"] == REQUEST_ID


def test_an_overloaded_transport_error_stays_transient() -> None:
    overloaded = transport_error(Transient, 529, envelope("Overloaded", type_="overloaded_error"))

    error = with_provider_message(overloaded)

    assert isinstance(error, Transient)
    assert error.detail == "Anthropic: Overloaded"
    assert error.upstream_status == 529


def test_a_wrapped_rate_limit_keeps_its_wait() -> None:
    limited = RateLimited("slow down", integration="anthropic", retry_after=7.0, status=429)
    wrapped = anthropic.APIConnectionError(request=REQUEST)
    wrapped.__context__ = limited

    assert from_sdk_error(wrapped) is limited


def test_a_rate_limit_in_anthropics_words_is_still_a_rate_limit() -> None:
    limited = transport_error(
        RateLimited, 429, envelope("Number of requests has exceeded", type_="rate_limit_error")
    )

    assert with_provider_message(limited) is limited


def test_a_spent_monthly_cap_is_permanent_although_it_is_a_429() -> None:
    error = with_provider_message(transport_error(RateLimited, 429, SPEND_CAP))

    assert isinstance(error, Permanent)
    assert error.detail == f"Anthropic: {SPEND_CAP_MESSAGE}"
    assert error.upstream_status == 429


def test_an_sdk_connection_error_alone_is_transient() -> None:
    assert isinstance(from_sdk_error(anthropic.APITimeoutError(request=REQUEST)), Transient)


def test_an_sdk_error_without_a_response_is_permanent() -> None:
    assert isinstance(from_sdk_error(anthropic.AnthropicError("bad configuration")), Permanent)


def test_a_401_status_error_is_auth_expired() -> None:
    body = envelope("invalid x-api-key", type_="authentication_error")

    error = from_status_error(status_error(401, body))

    assert isinstance(error, AuthExpired)
    assert error.detail == "Anthropic: invalid x-api-key"


def test_a_429_status_error_is_rate_limited_for_the_advised_wait() -> None:
    body = envelope("Number of requests has exceeded your rate limit", type_="rate_limit_error")

    error = from_status_error(status_error(429, body, {"retry-after": "12"}))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0


def test_a_spend_cap_status_error_is_permanent() -> None:
    assert isinstance(from_status_error(status_error(429, SPEND_CAP)), Permanent)


@pytest.mark.parametrize(("status", "kind"), [(400, Permanent), (404, Permanent), (409, Transient),
                                               (500, Transient), (529, Transient)])  # fmt: skip
def test_other_statuses_map_by_class(status: int, kind: type[IntegrationError]) -> None:
    error = from_status_error(status_error(status, MISSING_MAX_TOKENS))

    assert type(error) is kind
    assert error.detail == "Anthropic: max_tokens: Field required"
    assert error.upstream_status == status


def test_a_transport_error_without_an_anthropic_body_is_left_as_it_is() -> None:
    plain = Permanent("rejected", integration="anthropic", status=400, body="<html>nginx</html>")

    assert with_provider_message(plain) is plain


@pytest.mark.parametrize(
    "body",
    [b"not json", {"error": "just a string"}, {"type": "error", "error": {"type": "x"}}, ["no"]],
)
def test_bodies_that_are_not_an_anthropic_envelope_are_not_read_as_one(body: object) -> None:
    assert error_envelope(body) is None


def test_errors_that_carry_no_body_pass_through_the_guard_unchanged() -> None:
    original = NotSupported("no", integration="anthropic")

    with pytest.raises(NotSupported) as raised, anthropic_errors():
        raise original

    assert raised.value is original


def test_the_guard_turns_sdk_errors_into_framework_errors() -> None:
    with pytest.raises(Transient), anthropic_errors():
        raise anthropic.APIConnectionError(request=REQUEST)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"retry-after": "3"}, 3.0), ({"Retry-After": "0.5"}, 0.5), ({"retry-after": "soon"}, None),
     ({}, None)],
)  # fmt: skip
def test_retry_after_reads_anthropics_header(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after_seconds(headers) == seconds
