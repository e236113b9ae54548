"""`interpret`: every Stripe event type the ledger cares about, on Stripe's documented shapes
(old API versions and clover where they differ), plus events the sandbox really emitted."""

from __future__ import annotations

from typing import Any

import pytest

from gigforge.integrations.framework.payments import PaymentEventKind as Kind
from gigforge.integrations.stripe import StripeConnector
from gigforge.integrations.stripe.mapping import to_event
from gigforge.integrations.stripe.mapping_events import to_payment_event
from gigforge.integrations.stripe.sandbox import StripeSandbox


def event(event_type: str, obj: dict[str, Any], **extra: Any) -> Any:
    raw = {
        "id": "evt_1",
        "object": "event",
        "type": event_type,
        "created": 1_735_000_000,
        "livemode": False,
        "data": {"object": obj, **extra.pop("data", {})},
        **extra,
    }
    return to_payment_event(to_event(raw))


def test_payment_intent_succeeded_with_its_fee_when_the_charge_was_expanded() -> None:
    paid = event(
        "payment_intent.succeeded",
        {
            "id": "pi_1",
            "object": "payment_intent",
            "amount": 10_000,
            "amount_received": 10_000,
            "currency": "eur",
            "metadata": {"gigforge_reference": "pay_1"},
            "latest_charge": {"id": "ch_1", "balance_transaction": {"id": "txn_1", "fee": 320}},
        },
    )

    assert paid.kind is Kind.payment_succeeded
    assert (paid.payment_id, paid.object_id, paid.reference) == ("pi_1", "pi_1", "pay_1")
    assert (paid.amount_minor, paid.fee_minor, paid.currency) == (10_000, 320, "EUR")


def test_payment_intent_succeeded_without_expansion_has_no_fee() -> None:
    paid = event(
        "payment_intent.succeeded",
        {"id": "pi_2", "amount_received": 500, "currency": "usd", "latest_charge": "ch_2"},
    )

    assert (paid.fee_minor, paid.reference, paid.invoice_id) == (None, None, None)


def test_invoice_paid_reads_the_clover_payments_list() -> None:
    paid = event(
        "invoice.paid",
        {
            "id": "in_1",
            "object": "invoice",
            "amount_paid": 71_900,
            "currency": "eur",
            "status": "paid",
            "metadata": {"gigforge_reference": "inv_1"},
            "payments": {
                "object": "list",
                "data": [
                    {
                        "id": "inpay_1",
                        "object": "invoice_payment",
                        "is_default": True,
                        "status": "paid",
                        "payment": {"type": "payment_intent", "payment_intent": "pi_9"},
                    }
                ],
            },
        },
    )

    assert paid.kind is Kind.invoice_paid
    assert (paid.invoice_id, paid.payment_id, paid.reference) == ("in_1", "pi_9", "inv_1")
    assert (paid.amount_minor, paid.currency) == (71_900, "EUR")


def test_invoice_paid_reads_payment_intent_of_versions_before_basil() -> None:
    paid = event(
        "invoice.paid",
        {"id": "in_2", "amount_paid": 100, "currency": "usd", "payment_intent": "pi_old"},
    )

    assert paid.payment_id == "pi_old"


def test_charge_refunded_takes_the_newest_listed_refund() -> None:
    refunded = event(
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "amount_refunded": 3_000,
            "currency": "usd",
            "payment_intent": "pi_1",
            "metadata": {"gigforge_reference": "pay_1"},
            "refunds": {
                "object": "list",
                "data": [
                    {"id": "re_2", "amount": 2_000, "created": 200, "status": "succeeded"},
                    {"id": "re_1", "amount": 1_000, "created": 100, "status": "succeeded"},
                ],
            },
        },
    )

    assert refunded.kind is Kind.refunded
    assert (refunded.object_id, refunded.amount_minor) == ("re_2", 2_000)
    assert (refunded.payment_id, refunded.reference) == ("pi_1", "pay_1")


def test_charge_refunded_without_a_refund_list_uses_what_amount_refunded_grew_by() -> None:
    second = event(
        "charge.refunded",
        {"id": "ch_1", "amount_refunded": 3_000, "currency": "usd", "payment_intent": "pi_1"},
        data={"previous_attributes": {"amount_refunded": 1_000, "refunded": False}},
    )

    assert second.amount_minor == 2_000
    assert second.object_id == "ch_1:refunded:3000"


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("charge.dispute.created", Kind.dispute_opened),
        ("charge.dispute.closed", Kind.dispute_closed),
    ],
)
def test_disputes_name_their_payment(event_type: str, kind: Kind) -> None:
    dispute = event(
        event_type,
        {
            "id": "du_1",
            "object": "dispute",
            "amount": 4_500,
            "charge": "ch_1",
            "currency": "usd",
            "payment_intent": "pi_1",
            "status": "lost" if kind is Kind.dispute_closed else "needs_response",
        },
    )

    assert dispute.kind is kind
    assert (dispute.object_id, dispute.payment_id, dispute.amount_minor) == ("du_1", "pi_1", 4_500)


def test_transfer_created() -> None:
    transfer = event(
        "transfer.created",
        {
            "id": "tr_1",
            "amount": 7_500,
            "currency": "usd",
            "destination": "acct_1",
            "metadata": {"gigforge_reference": "tr-job-7"},
        },
    )

    assert transfer.kind is Kind.transfer_created
    assert (transfer.object_id, transfer.reference, transfer.amount_minor) == (
        "tr_1",
        "tr-job-7",
        7_500,
    )


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("payout.paid", Kind.payout_paid),
        ("payout.failed", Kind.payout_failed),
    ],
)
def test_payout_events_carry_the_connected_account(event_type: str, kind: Kind) -> None:
    failed = kind is Kind.payout_failed
    payout = event(
        event_type,
        {
            "id": "po_1",
            "object": "payout",
            "amount": 10_000,
            "currency": "eur",
            "status": "failed" if failed else "paid",
            "failure_message": "The bank account has been closed." if failed else None,
            "metadata": {"gigforge_reference": "po-1"},
        },
        account="acct_9",
    )

    assert payout.kind is kind
    assert (payout.account, payout.reference, payout.amount_minor) == ("acct_9", "po-1", 10_000)
    assert payout.failure_message == ("The bank account has been closed." if failed else None)


def test_account_updated_describes_the_account() -> None:
    updated = event(
        "account.updated",
        {
            "id": "acct_9",
            "object": "account",
            "country": "DE",
            "details_submitted": True,
            "charges_enabled": True,
            "payouts_enabled": False,
            "capabilities": {"transfers": "active"},
            "requirements": {"currently_due": ["external_account"], "disabled_reason": None},
        },
        account="acct_9",
    )

    assert updated.kind is Kind.account_updated
    assert updated.account == "acct_9"
    assert updated.account_state is not None
    assert updated.account_state.requirements_due == ("external_account",)
    assert updated.account_state.capabilities == {"transfers": "active"}


def test_checkout_completed_counts_only_when_paid_and_names_the_payment_intent() -> None:
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "amount_total": 45_000,
        "currency": "usd",
        "client_reference_id": "pay_3",
        "metadata": {"reference": "pay_3"},
        "payment_intent": "pi_3",
    }

    paid = event("checkout.session.completed", {**session, "payment_status": "paid"})
    unpaid = event("checkout.session.completed", {**session, "payment_status": "unpaid"})

    assert paid.kind is Kind.payment_succeeded
    assert (paid.object_id, paid.payment_id, paid.reference) == ("pi_3", "pi_3", "pay_3")
    assert unpaid.kind is Kind.other


def test_other_events_are_other() -> None:
    other = event("customer.created", {"id": "cus_1", "object": "customer"})

    assert (other.kind, other.object_id, other.type) == (Kind.other, "cus_1", "customer.created")


async def test_the_sandboxs_refunds_and_disputes_read_as_the_ledger_needs(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    intent = sandbox.seeded_payment_intents[0]

    await sandbox.refund_payment(intent, 1_000)
    await sandbox.refund_payment(intent, 2_000)
    dispute = await sandbox.open_dispute(intent)
    await sandbox.close_dispute(dispute["id"], won=True)
    events = [stripe.interpret(stripe.parse_webhook(d.headers, d.body)) for d in sandbox.outbox]

    refunds = [e for e in events if e.kind is Kind.refunded]
    assert [e.amount_minor for e in refunds] == [1_000, 2_000]
    assert len({e.object_id for e in refunds}) == 2
    assert all(e.payment_id == intent for e in refunds)
    opened = next(e for e in events if e.kind is Kind.dispute_opened)
    closed = next(e for e in events if e.kind is Kind.dispute_closed)
    assert (opened.amount_minor, opened.payment_id) == (12_000 - 3_000, intent)
    assert closed.status == "won"
