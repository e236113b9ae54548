"""Every way a Gemini failure reaches the connector ends as one framework error, in Google's
words, classed by what Google's envelope says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.genai import errors as genai_errors

from gigforge.integrations.framework import (
    AuthExpired,
    IntegrationError,
    NotSupported,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.gemini.errors import (
    error_envelope,
    from_api_error,
    from_transport_error,
    gemini_errors,
    retry_delay_seconds,
)

INVALID_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            },
            {
                "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                "locale": "en-US",
                "message": "API key not valid. Please pass a valid API key.",
            },
        ],
    }
}
LEAKED_KEY = {
    "error": {
        "code": 403,
        "message": "Your API key was reported as leaked. Please use another API key.",
        "status": "PERMISSION_DENIED",
    }
}
QUOTA = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "250",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "36s"},
        ],
    }
}


def envelope(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


def transport_error(kind: type[IntegrationError], status: int, body: object) -> IntegrationError:
    """The policy transport's error, with its excerpt of the body."""
    text = json.dumps(body)
    if kind is RateLimited:
        return RateLimited(
            "Google Gemini asked us to slow down",
            integration="gemini",
            retry_after=2.0,
            status=status,
            body=text,
        )
    return kind("Google Gemini rejected it", integration="gemini", status=status, body=text)


def test_a_wrong_key_is_auth_expired_though_google_answers_400() -> None:
    error = from_transport_error(transport_error(Permanent, 400, INVALID_KEY))

    assert isinstance(error, AuthExpired)
    assert error.detail == "Gemini: API key not valid. Please pass a valid API key."
    assert error.upstream_status == 400
    assert error.extensions["google_reason"] == "API_KEY_INVALID"


def test_a_leaked_or_missing_key_is_auth_expired() -> None:
    error = from_transport_error(transport_error(Permanent, 403, LEAKED_KEY))

    assert isinstance(error, AuthExpired)
    assert error.extensions["google_status"] == "PERMISSION_DENIED"


def test_a_spent_quota_waits_for_googles_retry_delay_and_names_the_quota() -> None:
    error = from_transport_error(transport_error(RateLimited, 429, QUOTA))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 36.0
    assert error.extensions["quota_ids"] == ("GenerateRequestsPerDayPerProjectPerModel-FreeTier",)
    assert error.detail.startswith("Gemini: You exceeded your current quota")


def test_a_429_without_retry_info_keeps_the_transports_wait() -> None:
    body = envelope(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")

    error = from_transport_error(transport_error(RateLimited, 429, body))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.0
    assert error.extensions["quota_ids"] == ()


@pytest.mark.parametrize(
    ("kind", "status", "google_status", "expected"),
    [
        (Permanent, 400, "INVALID_ARGUMENT", Permanent),
        (Permanent, 400, "FAILED_PRECONDITION", Permanent),
        (Permanent, 404, "NOT_FOUND", Permanent),
        (Transient, 500, "INTERNAL", Transient),
        (Transient, 503, "UNAVAILABLE", Transient),
        (Transient, 504, "DEADLINE_EXCEEDED", Transient),
    ],
)
def test_other_errors_keep_their_class_and_take_googles_message(
    kind: type[IntegrationError], status: int, google_status: str, expected: type[IntegrationError]
) -> None:
    body = envelope(status, google_status, "Something specific went wrong.")

    error = from_transport_error(transport_error(kind, status, body))

    assert type(error) is expected
    assert error.detail == "Gemini: Something specific went wrong."
    assert error.upstream_status == status
    assert error.extensions["google_status"] == google_status


def test_errors_without_a_google_body_are_left_as_they_are() -> None:
    html = Permanent("rejected", integration="gemini", status=404, body="<html>Not Found</html>")
    budget = RateLimited("budget spent", integration="gemini", retry_after=30.0)

    assert from_transport_error(html) is html
    assert from_transport_error(budget) is budget


def test_a_streamed_error_wrapped_in_an_array_is_read() -> None:
    assert error_envelope(json.dumps([LEAKED_KEY])) == LEAKED_KEY["error"]


def test_errors_the_sdk_builds_itself_are_classed_the_same_way() -> None:
    wrong_key = from_api_error(genai_errors.ClientError(400, INVALID_KEY))
    overloaded = from_api_error(
        genai_errors.ServerError(503, envelope(503, "UNAVAILABLE", "The model is overloaded."))
    )
    quota = from_api_error(genai_errors.ClientError(429, QUOTA))

    assert isinstance(wrong_key, AuthExpired)
    assert isinstance(overloaded, Transient)
    assert overloaded.detail == "Gemini: The model is overloaded."
    assert isinstance(quota, RateLimited)
    assert quota.retry_after == 36.0


def test_the_guard_turns_sdk_errors_into_framework_errors() -> None:
    with pytest.raises(AuthExpired), gemini_errors():
        raise genai_errors.ClientError(403, LEAKED_KEY)


def test_errors_that_carry_no_body_pass_through_the_guard_unchanged() -> None:
    original = NotSupported("no", integration="gemini")

    with pytest.raises(NotSupported) as raised, gemini_errors():
        raise original

    assert raised.value is original


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [("36s", 36.0), ("0.500s", 0.5), ("soon", None), (None, None), (12, None)],
)
def test_retry_delay_reads_a_protobuf_duration(delay: object, seconds: float | None) -> None:
    details = [] if delay is None else [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
    ]  # fmt: skip

    assert retry_delay_seconds({"message": "quota", "details": details}) == seconds
