"""Whatever a `Stripe-Signature` header or a signed body holds, verification refuses it with
the webhook errors, never a TypeError, OverflowError or RecursionError."""

from __future__ import annotations

import pytest

from gigforge.integrations.stripe import (
    WebhookPayloadError,
    WebhookSignatureError,
    construct_event,
    sign_payload,
    verify_signature,
)

SECRET = "whsec_test_secret"
NOW = 1_700_000_000


@pytest.mark.parametrize(
    "header",
    [
        f"t={NOW},v1=\u00e9\u00e9\u00e9",
        f"t={NOW},v1=" + "\u00ff" * 64,
        "t=" + "9" * 400 + ",v1=00",
        "t=" + "9" * 5000 + ",v1=00",
        "t=\u0661\u0662\u0663,v1=00",
        f"t=-{NOW},v1=00",
    ],
)
def test_a_malformed_signature_header_is_a_signature_error(header: str) -> None:
    with pytest.raises(WebhookSignatureError):
        verify_signature(header, b"{}", SECRET, now=NOW)


def test_a_good_signature_still_verifies() -> None:
    assert verify_signature(sign_payload(SECRET, b"{}", NOW), b"{}", SECRET, now=NOW) == NOW


def test_a_deeply_nested_signed_body_is_a_payload_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    headers = {"Stripe-Signature": sign_payload(SECRET, body, NOW)}
    with pytest.raises(WebhookPayloadError, match="nested too deeply"):
        construct_event(headers, body, SECRET, now=NOW)
