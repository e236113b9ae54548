"""Pure mapping on Stripe's documented payload shapes, including ones with fields left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gigforge.integrations.framework import CheckoutRequest
from gigforge.integrations.stripe import StripePayloadError, encode_form
from gigforge.integrations.stripe.mapping import (
    checkout_params,
    parse_error,
    refund_params,
    to_balance,
    to_checkout_session,
    to_event,
    to_payout,
    to_refund,
    transfer_params,
)

# From https://docs.stripe.com/api/checkout/sessions/object (trimmed to the fields we read).
DOCUMENTED_SESSION = {
    "id": "cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u",
    "object": "checkout.session",
    "amount_subtotal": 2198,
    "amount_total": 2198,
    "client_reference_id": None,
    "created": 1679600215,
    "currency": "usd",
    "expires_at": 1679686615,
    "livemode": False,
    "mode": "payment",
    "payment_intent": None,
    "payment_status": "unpaid",
    "status": "open",
    "url": "https://checkout.stripe.com/c/pay/cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u",
}

# From https://docs.stripe.com/api/refunds/object.
DOCUMENTED_REFUND = {
    "id": "re_1Nispe2eZvKYlo2Cd31jOCgZ",
    "object": "refund",
    "amount": 1000,
    "balance_transaction": "txn_1Nispe2eZvKYlo2CYezqFhEx",
    "charge": "ch_1NirD82eZvKYlo2CIvbtLWuY",
    "created": 1692942318,
    "currency": "usd",
    "metadata": {},
    "payment_intent": "pi_1GszsK2eZvKYlo2CfhZyoZLp",
    "reason": None,
    "receipt_number": None,
    "status": "succeeded",
}

# From https://docs.stripe.com/api/transfers/create.
DOCUMENTED_TRANSFER = {
    "id": "tr_1MiN3gLkdIwHu7ixNCZvFdgA",
    "object": "transfer",
    "amount": 400,
    "amount_reversed": 0,
    "balance_transaction": "txn_1MiN3gLkdIwHu7ixxapQrznl",
    "created": 1678043844,
    "currency": "usd",
    "description": None,
    "destination": "acct_1MTfjCQ9PRzxEwkZ",
    "destination_payment": "py_1MiN3gQ9PRzxEwkZWTPGNq9o",
    "livemode": False,
    "metadata": {},
    "reversed": False,
    "source_transaction": None,
    "source_type": "card",
    "transfer_group": "ORDER_95",
}


def make_checkout_request(**overrides: object) -> CheckoutRequest:
    values: dict[str, object] = {
        "amount_minor": 45_000,
        "currency": "EUR",
        "description": "Logo design, milestone 1",
        "success_url": "https://gigforge.test/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://gigforge.test/cancelled",
        "customer_email": "client@example.com",
        "reference": "pay_0b6c1e7e",
    }
    values.update(overrides)
    return CheckoutRequest.model_validate(values)


def test_encode_form_nests_dicts_and_lists_in_bracket_notation() -> None:
    pairs = encode_form(
        {
            "mode": "payment",
            "line_items": [
                {"price_data": {"currency": "usd", "unit_amount": 500}, "quantity": 1},
                {"price": "price_123", "quantity": 2},
            ],
            "metadata": {"reference": "r1"},
        }
    )

    assert pairs == [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", "500"),
        ("line_items[0][quantity]", "1"),
        ("line_items[1][price]", "price_123"),
        ("line_items[1][quantity]", "2"),
        ("metadata[reference]", "r1"),
    ]


def test_encode_form_writes_booleans_as_words_and_leaves_out_none() -> None:
    pairs = encode_form(
        {"automatic_tax": {"enabled": True}, "livemode": False, "customer_email": None}
    )

    assert pairs == [("automatic_tax[enabled]", "true"), ("livemode", "false")]


def test_encode_form_refuses_floats_because_money_is_integers() -> None:
    with pytest.raises(TypeError, match="amount"):
        encode_form({"amount": 10.5})


def test_checkout_params_describe_one_line_item_in_the_requests_currency() -> None:
    pairs = dict(encode_form(checkout_params(make_checkout_request())))

    assert pairs["mode"] == "payment"
    assert pairs["line_items[0][price_data][currency]"] == "eur"
    assert pairs["line_items[0][price_data][unit_amount]"] == "45000"
    assert pairs["line_items[0][price_data][product_data][name]"] == "Logo design, milestone 1"
    assert pairs["line_items[0][quantity]"] == "1"
    assert pairs["client_reference_id"] == "pay_0b6c1e7e"
    assert pairs["metadata[reference]"] == "pay_0b6c1e7e"
    assert pairs["payment_intent_data[metadata][reference]"] == "pay_0b6c1e7e"
    assert pairs["customer_email"] == "client@example.com"


def test_checkout_params_leave_out_a_missing_customer_email() -> None:
    pairs = dict(encode_form(checkout_params(make_checkout_request(customer_email=None))))

    assert "customer_email" not in pairs


def test_refund_params_name_a_charge_or_a_payment_intent() -> None:
    assert refund_params("pi_123", 500) == {"payment_intent": "pi_123", "amount": 500}
    assert refund_params("ch_123", 500) == {"charge": "ch_123", "amount": 500}


def test_transfer_params_lowercase_the_currency() -> None:
    params = transfer_params(
        amount_minor=400, currency="USD", destination="acct_1", transfer_group=None
    )

    assert params["currency"] == "usd"
    assert dict(encode_form(params)).get("transfer_group") is None


def test_documented_checkout_session_maps_with_upper_case_currency() -> None:
    session = to_checkout_session(DOCUMENTED_SESSION)

    assert session.id == DOCUMENTED_SESSION["id"]
    assert session.url == DOCUMENTED_SESSION["url"]
    assert session.status == "open"
    assert session.amount_minor == 2198
    assert session.currency == "USD"
    assert session.livemode is False
    assert session.payment_status == "unpaid"
    assert session.expires_at == datetime(2023, 3, 24, 19, 36, 55, tzinfo=UTC)


def test_checkout_session_without_optional_fields_still_maps() -> None:
    minimal = {"id": "cs_test_1", "amount_total": 500, "currency": "usd"}

    session = to_checkout_session(minimal)

    assert session.url is None
    assert session.status == "unknown"
    assert session.livemode is None
    assert session.payment_intent is None
    assert session.expires_at is None


def test_checkout_session_with_expanded_payment_intent_keeps_its_id() -> None:
    raw = {**DOCUMENTED_SESSION, "payment_intent": {"id": "pi_9", "object": "payment_intent"}}

    assert to_checkout_session(raw).payment_intent == "pi_9"


def test_checkout_session_without_amount_is_an_unexpected_payload() -> None:
    with pytest.raises(StripePayloadError, match="amount_total"):
        to_checkout_session({"id": "cs_test_1", "currency": "usd", "amount_total": None})


def test_documented_refund_maps() -> None:
    refund = to_refund(DOCUMENTED_REFUND)

    assert (refund.id, refund.status, refund.amount_minor) == (
        "re_1Nispe2eZvKYlo2Cd31jOCgZ",
        "succeeded",
        1000,
    )
    assert refund.currency == "USD"
    assert refund.payment_intent == "pi_1GszsK2eZvKYlo2CfhZyoZLp"
    assert refund.charge == "ch_1NirD82eZvKYlo2CIvbtLWuY"


def test_refund_with_null_status_and_no_currency_maps() -> None:
    refund = to_refund({"id": "re_1", "amount": 10, "status": None})

    assert refund.status == "unknown"
    assert refund.currency is None


def test_documented_transfer_is_a_paid_payout() -> None:
    payout = to_payout(DOCUMENTED_TRANSFER)

    assert payout.id == "tr_1MiN3gLkdIwHu7ixNCZvFdgA"
    assert payout.status == "paid"
    assert (payout.amount_minor, payout.currency) == (400, "USD")
    assert payout.destination == "acct_1MTfjCQ9PRzxEwkZ"
    assert payout.transfer_group == "ORDER_95"
    assert payout.livemode is False


def test_reversed_transfers_say_so() -> None:
    partly = to_payout({**DOCUMENTED_TRANSFER, "amount_reversed": 100})
    fully = to_payout({**DOCUMENTED_TRANSFER, "amount_reversed": 400, "reversed": True})

    assert (partly.status, partly.amount_reversed) == ("partially_reversed", 100)
    assert fully.status == "reversed"


def test_minimal_transfer_maps() -> None:
    payout = to_payout({"id": "tr_1", "amount": 5, "currency": "eur"})

    assert (payout.status, payout.destination, payout.amount_reversed) == ("paid", None, 0)


def test_event_maps_with_its_data_and_connect_account() -> None:
    raw = {
        "id": "evt_1",
        "object": "event",
        "api_version": "2025-12-15.clover",
        "created": 1700000000,
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}},
        "livemode": True,
        "type": "checkout.session.completed",
        "account": "acct_9",
    }

    event = to_event(raw)

    assert event.type == "checkout.session.completed"
    assert event.created == datetime.fromtimestamp(1700000000, tz=UTC)
    assert event.data["object"]["id"] == "cs_test_1"
    assert (event.livemode, event.account) == (True, "acct_9")


def test_event_without_optional_fields_maps_to_empty_data() -> None:
    event = to_event({"id": "evt_1", "type": "ping", "created": 1})

    assert event.data == {}
    assert event.account is None


def test_event_without_created_is_an_unexpected_payload() -> None:
    with pytest.raises(StripePayloadError):
        to_event({"id": "evt_1", "type": "ping"})


def test_balance_sums_amounts_per_currency() -> None:
    balance = to_balance(
        {
            "object": "balance",
            "available": [
                {"amount": 666670, "currency": "usd", "source_types": {"card": 666670}},
                {"amount": 100, "currency": "eur"},
            ],
            "livemode": False,
            "pending": [{"amount": 61414, "currency": "usd"}],
        }
    )

    assert balance.available == {"USD": 666670, "EUR": 100}
    assert balance.pending == {"USD": 61414}
    assert balance.livemode is False


def test_balance_without_lists_is_empty() -> None:
    assert to_balance({"object": "balance"}).available == {}


def test_parse_error_reads_the_documented_envelope() -> None:
    body = json.dumps(
        {
            "error": {
                "code": "parameter_missing",
                "doc_url": "https://stripe.com/docs/error-codes/parameter-missing",
                "message": "Missing required param: payment_intent.",
                "param": "payment_intent",
                "type": "invalid_request_error",
            }
        }
    )

    error = parse_error(body)

    assert error is not None
    assert error.code == "parameter_missing"
    assert error.message == "Missing required param: payment_intent."
    assert error.param == "payment_intent"
    assert error.type == "invalid_request_error"


def test_parse_error_reads_an_envelope_cut_short() -> None:
    body = json.dumps(
        {
            "error": {
                "code": "balance_insufficient",
                "message": 'Funds are "low"',
                "request_log_url": "https://dashboard.stripe.com/test/logs/req_1",
                "type": "invalid_request_error",
            }
        },
        indent=2,
    )
    cut = body[: body.index("request_log_url") + 20]

    error = parse_error(cut)

    assert error is not None
    assert error.code == "balance_insufficient"
    assert error.message == 'Funds are "low"'
    assert error.type is None


def test_parse_error_of_something_else_is_none() -> None:
    assert parse_error("<html>Bad gateway</html>") is None
    assert parse_error('{"status": "ok"}') is None
