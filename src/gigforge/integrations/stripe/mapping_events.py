"""Stripe events in the ledger's words: one pure function, `to_payment_event`.

Each event's `data.object` is read as Stripe documents it for the API version the connector
pins (clover), with the older shapes still understood where they differ:

- An invoice names its payment in `payment_intent` before 2025-03-31.basil, and in `payments`
  (Invoice Payment objects) since.
- A charge lists its refunds in `refunds` only in versions before 2022-11-15 or when expanded;
  a `charge.refunded` webhook in later versions carries the charge without them, so the
  refund's amount is what `amount_refunded` grew by (`data.previous_attributes`) and the
  posting is named `<charge id>:refunded:<total refunded>`, which is unique per refund and
  the same on every redelivery.
- A Checkout Session and its PaymentIntent are the same money: both map to
  `payment_succeeded` with `object_id` = the PaymentIntent's id, so a ledger keyed on
  (kind, object_id) posts the payment once whichever event arrives first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gigforge.integrations.framework import WebhookEvent
from gigforge.integrations.framework.payments import PaymentEvent, PaymentEventKind
from gigforge.integrations.stripe.mapping import _id_of, _required_str
from gigforge.integrations.stripe.mapping_billing import (
    invoice_payment_id,
    reference_of,
    to_account,
)

Kind = PaymentEventKind
Reader = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


def to_payment_event(event: WebhookEvent) -> PaymentEvent:
    """Every verified Stripe event becomes one PaymentEvent; the uninteresting ones `other`."""
    obj = event.data.get("object")
    obj = obj if isinstance(obj, Mapping) else {}
    previous = event.data.get("previous_attributes")
    previous = previous if isinstance(previous, Mapping) else {}
    base: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "created": event.created,
        "object_id": obj.get("id") if isinstance(obj.get("id"), str) else event.id,
        "account": getattr(event, "account", None),
        "livemode": bool(getattr(event, "livemode", False)),
    }
    reader = _READERS.get(event.type)
    fields = reader(obj, previous) if reader is not None else {"kind": Kind.other}
    return PaymentEvent(**{**base, **fields})


def _payment_intent(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": Kind.payment_succeeded,
        "payment_id": _required_str(obj, "id", "payment_intent"),
        "amount_minor": _amount(obj, "amount_received", "amount"),
        "currency": _currency(obj),
        "reference": reference_of(obj),
        "invoice_id": _id_of(obj.get("invoice")),
        "fee_minor": _fee_of_latest_charge(obj.get("latest_charge")),
    }


def _fee_of_latest_charge(charge: Any) -> int | None:
    """Only when the charge and its balance transaction were expanded; webhooks never expand."""
    if not isinstance(charge, Mapping):
        return None
    transaction = charge.get("balance_transaction")
    if not isinstance(transaction, Mapping):
        return None
    fee = transaction.get("fee")
    return fee if isinstance(fee, int) and not isinstance(fee, bool) else None


def _checkout_session(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    if obj.get("payment_status") != "paid":
        return {"kind": Kind.other, "status": obj.get("payment_status")}
    intent = _id_of(obj.get("payment_intent"))
    reference = reference_of(obj) or obj.get("client_reference_id")
    fields: dict[str, Any] = {
        "kind": Kind.payment_succeeded,
        "payment_id": intent,
        "amount_minor": _amount(obj, "amount_total"),
        "currency": _currency(obj),
        "reference": reference,
        "invoice_id": _id_of(obj.get("invoice")),
    }
    if intent:
        fields["object_id"] = intent
    return fields


def _invoice_paid(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": Kind.invoice_paid,
        "invoice_id": _required_str(obj, "id", "invoice"),
        "payment_id": invoice_payment_id(obj),
        "amount_minor": _amount(obj, "amount_paid"),
        "currency": _currency(obj),
        "reference": reference_of(obj),
        "status": obj.get("status"),
    }


def _charge_refunded(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    charge_id = _required_str(obj, "id", "charge")
    fields: dict[str, Any] = {
        "kind": Kind.refunded,
        "payment_id": _id_of(obj.get("payment_intent")) or charge_id,
        "currency": _currency(obj),
        "reference": reference_of(obj),
    }
    refunds = obj.get("refunds")
    listed = refunds.get("data") if isinstance(refunds, Mapping) else None
    newest = _newest(listed) if isinstance(listed, list) else None
    if newest is not None:
        fields["object_id"] = newest.get("id") or charge_id
        fields["amount_minor"] = _amount(newest, "amount")
        fields["status"] = newest.get("status")
        return fields
    total = _amount(obj, "amount_refunded")
    before = previous.get("amount_refunded")
    if total is not None and isinstance(before, int) and not isinstance(before, bool):
        fields["amount_minor"] = total - before
    elif total is not None and obj.get("refunded") and previous.get("refunded") is False:
        fields["amount_minor"] = total
    fields["object_id"] = f"{charge_id}:refunded:{total}"
    return fields


def _newest(refunds: list[Any]) -> Mapping[str, Any] | None:
    """Stripe lists refunds newest first; `created` decides when it is given."""
    candidates = [refund for refund in refunds if isinstance(refund, Mapping)]
    if not candidates:
        return None
    return max(
        enumerate(candidates),
        key=lambda pair: (_amount(pair[1], "created") or 0, -pair[0]),
    )[1]


def _dispute(kind: Kind) -> Reader:
    def read(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "kind": kind,
            "payment_id": _id_of(obj.get("payment_intent")) or _id_of(obj.get("charge")),
            "amount_minor": _amount(obj, "amount"),
            "currency": _currency(obj),
            "reference": reference_of(obj),
            "status": obj.get("status"),
        }

    return read


def _transfer(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": Kind.transfer_created,
        "amount_minor": _amount(obj, "amount"),
        "currency": _currency(obj),
        "reference": reference_of(obj),
        "payment_id": _id_of(obj.get("source_transaction")),
        "status": "reversed" if obj.get("reversed") else "paid",
    }


def _transfer_reversed(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """`other` on purpose: the ledger posts a reversal from its own row when the API call
    returns, so the event is only read for what it says (how much of the transfer is back)."""
    return {
        "kind": Kind.other,
        "amount_minor": _amount(obj, "amount_reversed"),
        "currency": _currency(obj),
        "reference": reference_of(obj),
        "status": "reversed" if obj.get("reversed") else "partially_reversed",
    }


def _payout(kind: Kind) -> Reader:
    def read(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "kind": kind,
            "amount_minor": _amount(obj, "amount"),
            "currency": _currency(obj),
            "reference": reference_of(obj),
            "status": obj.get("status"),
            "failure_message": obj.get("failure_message"),
        }

    return read


def _account(obj: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    state = to_account(obj)
    return {
        "kind": Kind.account_updated,
        "account": state.id,
        "account_state": state,
        "reference": reference_of(obj),
    }


def _amount(obj: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _currency(obj: Mapping[str, Any]) -> str | None:
    value = obj.get("currency")
    return value.upper() if isinstance(value, str) and value else None


_READERS: dict[str, Reader] = {
    "payment_intent.succeeded": _payment_intent,
    "checkout.session.completed": _checkout_session,
    "invoice.paid": _invoice_paid,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute(Kind.dispute_opened),
    "charge.dispute.closed": _dispute(Kind.dispute_closed),
    "transfer.created": _transfer,
    "transfer.reversed": _transfer_reversed,
    "payout.paid": _payout(Kind.payout_paid),
    "payout.failed": _payout(Kind.payout_failed),
    "account.updated": _account,
}
