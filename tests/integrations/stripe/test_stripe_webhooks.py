"""Webhook signatures as Stripe documents them (https://docs.stripe.com/webhooks), and replays."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from gigforge.integrations.framework import CheckoutRequest
from gigforge.integrations.stripe import (
    MemoryReplayGuard,
    StripeConnector,
    StripeWebhookReceiver,
    WebhookPayloadError,
    WebhookReplayError,
    WebhookSignatureError,
    construct_event,
    sign_payload,
    verify_signature,
)
from gigforge.integrations.stripe.sandbox import SANDBOX_WEBHOOK_SECRET, StripeSandbox

SECRET = "whsec_test_secret"
NOW = 1_700_000_000
BODY = json.dumps(
    {
        "id": "evt_1",
        "object": "event",
        "api_version": "2025-12-15.clover",
        "created": NOW - 5,
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}},
        "livemode": False,
        "type": "checkout.session.completed",
    },
    indent=2,
).encode()


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()

    assert sign_payload(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_a_signed_delivery_verifies_and_parses() -> None:
    headers = {"Stripe-Signature": sign_payload(SECRET, BODY, NOW)}

    event = construct_event(headers, BODY, SECRET, now=NOW)

    assert (event.id, event.type) == ("evt_1", "checkout.session.completed")
    assert event.data["object"]["id"] == "cs_test_1"


def test_header_names_are_case_insensitive() -> None:
    headers = {"stripe-signature": sign_payload(SECRET, BODY, NOW)}

    assert construct_event(headers, BODY, SECRET, now=NOW).id == "evt_1"


def test_any_of_several_v1_signatures_may_match_and_v0_is_ignored() -> None:
    good = sign_payload(SECRET, BODY, NOW).split("v1=")[1]
    header = f"t={NOW},v1={'0' * 64},v0={'f' * 64},v1={good}"

    assert verify_signature(header, BODY, SECRET, now=NOW) == NOW


def test_a_missing_header_is_refused_with_400() -> None:
    with pytest.raises(WebhookSignatureError, match="header is missing") as caught:
        construct_event({}, BODY, SECRET, now=NOW)

    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (f"v1={'a' * 64}", "no timestamp"),
        ("t=yesterday,v1=abc", "not a number"),
        (f"t={NOW},v0={'a' * 64}", "no v1 signature"),
        (f"t={NOW},v1={'a' * 64}", "no signature matches"),
    ],
)
def test_malformed_or_wrong_signatures_are_refused(header: str, reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_signature(header, BODY, SECRET, now=NOW)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    header = sign_payload("whsec_someone_else", BODY, NOW)

    with pytest.raises(WebhookSignatureError, match="no signature matches"):
        verify_signature(header, BODY, SECRET, now=NOW)


def test_a_changed_body_no_longer_matches() -> None:
    header = sign_payload(SECRET, BODY, NOW)

    with pytest.raises(WebhookSignatureError):
        verify_signature(header, BODY.replace(b"evt_1", b"evt_2"), SECRET, now=NOW)


def test_a_stale_timestamp_is_refused() -> None:
    header = sign_payload(SECRET, BODY, NOW - 301)

    with pytest.raises(WebhookSignatureError, match="old"):
        verify_signature(header, BODY, SECRET, now=NOW)


def test_a_timestamp_from_the_future_is_refused() -> None:
    header = sign_payload(SECRET, BODY, NOW + 301)

    with pytest.raises(WebhookSignatureError, match="future"):
        verify_signature(header, BODY, SECRET, now=NOW)


def test_the_edge_of_the_tolerance_is_accepted_and_the_tolerance_can_change() -> None:
    assert verify_signature(sign_payload(SECRET, BODY, NOW - 300), BODY, SECRET, now=NOW)
    with pytest.raises(WebhookSignatureError):
        verify_signature(sign_payload(SECRET, BODY, NOW - 61), BODY, SECRET, now=NOW, tolerance=60)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    for body in (b"not json", b'{"object": "charge", "id": "ch_1"}'):
        headers = {"Stripe-Signature": sign_payload(SECRET, body, NOW)}
        with pytest.raises(WebhookPayloadError):
            construct_event(headers, body, SECRET, now=NOW)


async def test_replay_guard_remembers_ids_for_its_window_only() -> None:
    clock = [0.0]
    guard = MemoryReplayGuard(window_seconds=360, clock=lambda: clock[0])

    assert await guard.first_seen("evt_1") is True
    assert await guard.first_seen("evt_1") is False
    clock[0] = 361
    assert await guard.first_seen("evt_1") is True
    assert len(guard) == 1


async def test_replay_guard_is_bounded() -> None:
    guard = MemoryReplayGuard(max_entries=2, clock=lambda: 0.0)

    for event_id in ("evt_1", "evt_2", "evt_3"):
        assert await guard.first_seen(event_id) is True

    assert len(guard) == 2
    assert await guard.first_seen("evt_3") is False


async def test_receiver_accepts_a_delivery_once_and_refuses_its_replay(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    receiver = StripeWebhookReceiver(stripe, MemoryReplayGuard())
    delivery = sandbox.deliver(sandbox.events[-1])

    event = await receiver.receive(delivery.headers, delivery.body)
    with pytest.raises(WebhookReplayError) as caught:
        await receiver.receive(delivery.headers, delivery.body)

    assert event.id == sandbox.events[-1]["id"]
    assert caught.value.status_code == 409


async def test_receiver_refuses_a_forged_delivery_before_recording_it(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    guard = MemoryReplayGuard()
    receiver = StripeWebhookReceiver(stripe, guard)
    body = json.dumps(sandbox.events[-1]).encode()
    forged = {"Stripe-Signature": sign_payload("whsec_forger", body, int(sandbox.clock()))}

    with pytest.raises(WebhookSignatureError):
        await receiver.receive(forged, body)

    assert len(guard) == 0


async def test_sandbox_signs_checkout_completion_exactly_as_stripe_does(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    session = await stripe.create_checkout(
        CheckoutRequest(
            amount_minor=900,
            currency="USD",
            description="Copy edit",
            success_url="https://gigforge.test/ok",
            cancel_url="https://gigforge.test/no",
            reference="pay_webhook_1",
        )
    )

    delivery = sandbox.checkout_completed_delivery(session.id, timestamp=NOW)
    event = construct_event(delivery.headers, delivery.body, SANDBOX_WEBHOOK_SECRET, now=NOW)

    assert event.type == "checkout.session.completed"
    assert event.data["object"]["id"] == session.id
    assert event.data["object"]["status"] == "complete"
    assert event.data["object"]["payment_status"] == "paid"
    assert delivery.headers["Stripe-Signature"] == sign_payload(
        SANDBOX_WEBHOOK_SECRET, delivery.body, NOW
    )
