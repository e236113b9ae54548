"""Every way an OpenAI failure leaves the SDK ends as one framework error."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest

from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationError,
    NotSupported,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.openai.errors import (
    from_sdk_error,
    from_status_error,
    openai_errors,
    retry_after_seconds,
    with_provider_message,
)

REQUEST = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")


def envelope(
    message: str, *, type_: str, code: str | None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def status_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> openai.APIStatusError:
    """What the SDK raises for an error response it reads itself: its `body` is the inner
    `error` object."""
    response = httpx2.Response(status, headers=headers, json=body, request=REQUEST)
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body["error"])


def transport_permanent(body: dict[str, Any]) -> Permanent:
    """The policy transport's 4xx error, with its excerpt of the body."""
    return Permanent(
        "OpenAI rejected POST /v1/chat/completions with 400",
        integration="openai",
        status=400,
        body=json.dumps(body),
    )


BAD_PARAM = envelope(
    "Invalid 'messages': empty array.", type_="invalid_request_error", code="empty_array",
    param="messages",
)  # fmt: skip


def test_a_transport_error_wrapped_by_the_sdk_is_unwrapped_in_openais_words() -> None:
    wrapped = openai.APIConnectionError(request=REQUEST)
    wrapped.__cause__ = transport_permanent(BAD_PARAM)

    error = from_sdk_error(wrapped)

    assert isinstance(error, Permanent)
    assert error.detail == "OpenAI: Invalid 'messages': empty array."
    assert error.upstream_status == 400
    assert error.extensions["openai_param"] == "messages"


def test_a_wrapped_rate_limit_keeps_its_wait() -> None:
    limited = RateLimited("slow down", integration="openai", retry_after=7.0, status=429)
    wrapped = openai.APIConnectionError(request=REQUEST)
    wrapped.__context__ = limited

    assert from_sdk_error(wrapped) is limited


def test_a_connection_error_of_the_sdk_alone_is_transient() -> None:
    assert isinstance(from_sdk_error(openai.APITimeoutError(request=REQUEST)), Transient)


def test_an_sdk_error_without_a_response_is_permanent() -> None:
    assert isinstance(from_sdk_error(openai.OpenAIError("bad configuration")), Permanent)


def test_a_401_status_error_is_auth_expired() -> None:
    body = envelope("Incorrect API key provided: sk-ab***cd.", type_="invalid_request_error",
                    code="invalid_api_key")  # fmt: skip

    error = from_status_error(status_error(401, body))

    assert isinstance(error, AuthExpired)
    assert error.detail == "OpenAI: Incorrect API key provided: sk-ab***cd."


def test_a_429_status_error_is_rate_limited_for_the_advised_wait() -> None:
    body = envelope("Rate limit reached for gpt-4o in organization org-x on requests per min",
                    type_="requests", code="rate_limit_exceeded")  # fmt: skip

    error = from_status_error(status_error(429, body, {"retry-after-ms": "1500"}))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 1.5


def test_a_spent_quota_is_permanent_although_it_is_a_429() -> None:
    body = envelope("You exceeded your current quota, please check your plan and billing details.",
                    type_="insufficient_quota", code="insufficient_quota")  # fmt: skip

    error = from_status_error(status_error(429, body))

    assert isinstance(error, Permanent)
    assert "exceeded your current quota" in error.detail


@pytest.mark.parametrize(("status", "kind"), [(400, Permanent), (404, Permanent), (409, Transient),
                                               (500, Transient), (503, Transient)])  # fmt: skip
def test_other_statuses_map_by_class(status: int, kind: type[IntegrationError]) -> None:
    error = from_status_error(status_error(status, BAD_PARAM))

    assert type(error) is kind
    assert error.detail == "OpenAI: Invalid 'messages': empty array."
    assert error.upstream_status == status


def test_a_transport_error_without_an_openai_body_is_left_as_it_is() -> None:
    plain = Permanent("rejected", integration="openai", status=400, body="<html>nginx</html>")

    assert with_provider_message(plain) is plain


def test_errors_that_carry_no_body_pass_through_the_guard_unchanged() -> None:
    original = NotSupported("no", integration="openai")

    with pytest.raises(NotSupported) as raised, openai_errors():
        raise original

    assert raised.value is original


def test_the_guard_turns_sdk_errors_into_framework_errors() -> None:
    with pytest.raises(Transient), openai_errors():
        raise openai.APIConnectionError(request=REQUEST)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"Retry-After": "3"}, 3.0), ({"retry-after-ms": "250", "retry-after": "1"}, 0.25),
     ({"Retry-After": "soon"}, None), ({}, None)],
)  # fmt: skip
def test_retry_after_reads_openais_headers(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds
