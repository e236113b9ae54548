"""Pure translations for Stripe Billing and Connect: customers, invoices, subscriptions,
connected accounts, bank accounts, payouts and balance transactions.

Requests are plain dicts that `encode_form` flattens into Stripe's bracket notation; responses
are read defensively (a field left out is None, a required one missing is a
`StripePayloadError`). Our own id travels as `metadata[gigforge_reference]` on every object we
create, so events and balance history can be tied back to our rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from gigforge.integrations.framework.payments import (
    BalanceEntry,
    BankAccountRequest,
    ConnectedAccount,
    Customer,
    ExternalBankAccount,
    InvoiceLine,
    InvoiceRequest,
    InvoiceStatus,
    PayoutRequest,
    PayoutStatus,
    ProviderInvoice,
    ProviderPayout,
    ProviderSubscription,
    SubscriptionRequest,
    Transfer,
    TransferReversal,
)
from gigforge.integrations.stripe.errors import StripePayloadError
from gigforge.integrations.stripe.mapping import (
    _id_of,
    _required_int,
    _required_str,
    _timestamp,
)
from gigforge.integrations.stripe.spec import SPEC

REFERENCE_KEY = "gigforge_reference"
NUMBER_KEY = "gigforge_number"

# Requests


def customer_params(*, email: str, name: str, reference: str) -> dict[str, Any]:
    """https://docs.stripe.com/api/customers/create"""
    return {"email": email, "name": name, "metadata": {REFERENCE_KEY: reference}}


def invoice_params(request: InvoiceRequest) -> dict[str, Any]:
    """A draft invoice that Stripe e-mails and the client pays on its hosted page
    (https://docs.stripe.com/api/invoices/create).

    Stripe numbers invoices itself (`number` is settable only on some accounts), so our number
    rides in `metadata[gigforge_number]`, in the description and as a custom field printed on
    the invoice. `transfer_group` is kept as information only: the transfer to the user is made
    by Gigforge later, not by the invoice.
    """
    description = request.description or f"Invoice {request.number}"
    return {
        "customer": request.customer_id,
        "currency": request.currency.lower(),
        "collection_method": "send_invoice",
        "days_until_due": request.days_until_due,
        "description": description,
        "custom_fields": [{"name": "Invoice", "value": request.number}],
        "metadata": {
            REFERENCE_KEY: request.reference,
            NUMBER_KEY: request.number,
            "transfer_group": request.transfer_group,
        },
    }


def invoice_item_params(
    request: InvoiceRequest, invoice_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """One invoice item per line, then one per taxed line (`Tax on <description>`, its exact
    amount), each with its idempotency key `ii-<reference>-<n>`
    (https://docs.stripe.com/api/invoiceitems/create)."""
    items: list[dict[str, Any]] = []
    common = {
        "customer": request.customer_id,
        "invoice": invoice_id,
        "currency": request.currency.lower(),
    }
    for line in request.lines:
        items.append(_line_item(common, line))
    for line in request.lines:
        if line.tax_minor > 0:
            items.append(
                {**common, "description": f"Tax on {line.description}", "amount": line.tax_minor}
            )
    return [(f"ii-{request.reference}-{n}", item) for n, item in enumerate(items, start=1)]


def _line_item(common: Mapping[str, Any], line: InvoiceLine) -> dict[str, Any]:
    return {
        **common,
        "description": line.description,
        "quantity": line.quantity,
        "unit_amount_decimal": str(line.unit_amount_minor),
    }


def price_params(request: SubscriptionRequest) -> dict[str, Any]:
    """A recurring price with its product made inline (https://docs.stripe.com/api/prices/create)."""
    return {
        "currency": request.currency.lower(),
        "unit_amount": request.amount_minor,
        "product_data": {"name": request.description},
        "recurring": {"interval": request.interval, "interval_count": request.interval_count},
        "metadata": {REFERENCE_KEY: request.reference},
    }


def subscription_params(request: SubscriptionRequest, price_id: str) -> dict[str, Any]:
    """https://docs.stripe.com/api/subscriptions/create, invoiced and e-mailed each period."""
    return {
        "customer": request.customer_id,
        "items": [{"price": price_id}],
        "collection_method": "send_invoice",
        "days_until_due": request.days_until_due,
        "metadata": {REFERENCE_KEY: request.reference},
    }


def account_params(*, email: str, country: str, reference: str) -> dict[str, Any]:
    """An Express connected account: Stripe hosts its onboarding and dashboard
    (https://docs.stripe.com/api/accounts/create)."""
    return {
        "type": "express",
        "country": country.upper(),
        "email": email,
        "capabilities": {
            "card_payments": {"requested": True},
            "transfers": {"requested": True},
        },
        "metadata": {REFERENCE_KEY: reference},
    }


def account_link_params(account_id: str, *, refresh_url: str, return_url: str) -> dict[str, Any]:
    """https://docs.stripe.com/api/account_links/create"""
    return {
        "account": account_id,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "type": "account_onboarding",
    }


def bank_account_params(request: BankAccountRequest) -> dict[str, Any]:
    """Stripe takes an IBAN as `account_number` for SEPA countries, with no routing number
    (https://docs.stripe.com/api/external_account_bank_accounts/create)."""
    return {
        "external_account": {
            "object": "bank_account",
            "country": request.country.upper(),
            "currency": request.currency.lower(),
            "account_holder_name": request.holder_name,
            "account_number": request.iban.replace(" ", "").upper(),
        },
        "metadata": {REFERENCE_KEY: request.reference},
    }


def payout_params(request: PayoutRequest) -> dict[str, Any]:
    """A payout from the connected account's balance (https://docs.stripe.com/api/payouts/create);
    sent with `Stripe-Account: <account_id>`."""
    return {
        "amount": request.amount_minor,
        "currency": request.currency.lower(),
        "method": request.speed.value,
        "destination": request.destination,
        "metadata": {REFERENCE_KEY: request.reference},
    }


def reversal_params(*, amount_minor: int, reference: str) -> dict[str, Any]:
    """A reversal of (part of) a transfer, sent to `/v1/transfers/{id}/reversals`
    (https://docs.stripe.com/api/transfer_reversals/create); the amount is always named,
    since Stripe's default is all that is left of the transfer."""
    return {"amount": amount_minor, "metadata": {REFERENCE_KEY: reference}}


# Responses


def reference_of(raw: Mapping[str, Any] | None) -> str | None:
    """Our id from an object's metadata; Checkout Sessions made before this key use `reference`."""
    if not isinstance(raw, Mapping):
        return None
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    value = metadata.get(REFERENCE_KEY) or metadata.get("reference")
    return value if isinstance(value, str) and value else None


def to_customer(raw: Mapping[str, Any]) -> Customer:
    return Customer(id=_required_str(raw, "id", "customer"), email=raw.get("email"))


def invoice_payment_id(raw: Mapping[str, Any]) -> str | None:
    """The payment that paid an invoice, in either shape.

    Before 2025-03-31.basil the invoice had `payment_intent`; since then (and in clover) an
    invoice may be paid by several payments, listed in `payments` (Invoice Payment objects,
    https://docs.stripe.com/api/invoice-payment) whose `payment.payment_intent` (or `charge`)
    names each one; the paid one that is `is_default` (else the last paid) is taken.
    """
    legacy = _id_of(raw.get("payment_intent"))
    if legacy:
        return legacy
    payments = raw.get("payments")
    entries = payments.get("data") if isinstance(payments, Mapping) else None
    if not isinstance(entries, list):
        return None
    paid = [
        entry
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("status") in ("paid", None)
    ]
    chosen = next((entry for entry in paid if entry.get("is_default")), None)
    if chosen is None and paid:
        chosen = paid[-1]
    payment = chosen.get("payment") if chosen is not None else None
    if not isinstance(payment, Mapping):
        return None
    return _id_of(payment.get("payment_intent")) or _id_of(payment.get("charge"))


def to_invoice(raw: Mapping[str, Any]) -> ProviderInvoice:
    """https://docs.stripe.com/api/invoices/object; `hosted_invoice_url` exists once finalized."""
    status = raw.get("status")
    if not isinstance(status, str) or status not in InvoiceStatus.__members__:
        raise StripePayloadError(f"Stripe invoice with status {status!r}", integration=SPEC.slug)
    return ProviderInvoice(
        id=_required_str(raw, "id", "invoice"),
        status=InvoiceStatus(status),
        amount_due_minor=_required_int(raw, "amount_due", "invoice"),
        amount_paid_minor=_int_or_zero(raw.get("amount_paid")),
        currency=_required_str(raw, "currency", "invoice").upper(),
        hosted_url=raw.get("hosted_invoice_url"),
        payment_id=invoice_payment_id(raw),
        reference=reference_of(raw),
    )


def to_subscription(raw: Mapping[str, Any]) -> ProviderSubscription:
    """Since basil the billing period lives on each subscription item, not the subscription."""
    period_end = _timestamp(raw.get("current_period_end"))
    items = raw.get("items")
    data = items.get("data") if isinstance(items, Mapping) else None
    if period_end is None and isinstance(data, list):
        ends = [
            _timestamp(item.get("current_period_end")) for item in data if isinstance(item, Mapping)
        ]
        period_end = max((end for end in ends if end is not None), default=None)
    return ProviderSubscription(
        id=_required_str(raw, "id", "subscription"),
        status=_required_str(raw, "status", "subscription"),
        current_period_end=period_end,
    )


def to_account(raw: Mapping[str, Any]) -> ConnectedAccount:
    """https://docs.stripe.com/api/accounts/object: what is still due, and what is enabled."""
    requirements = raw.get("requirements")
    requirements = requirements if isinstance(requirements, Mapping) else {}
    due: list[str] = []
    for key in ("past_due", "currently_due"):
        values = requirements.get(key)
        for value in values if isinstance(values, list) else []:
            if isinstance(value, str) and value not in due:
                due.append(value)
    capabilities = raw.get("capabilities")
    country = raw.get("country")
    return ConnectedAccount(
        id=_required_str(raw, "id", "account"),
        email=raw.get("email"),
        country=country if isinstance(country, str) else None,
        details_submitted=bool(raw.get("details_submitted")),
        charges_enabled=bool(raw.get("charges_enabled")),
        payouts_enabled=bool(raw.get("payouts_enabled")),
        capabilities={
            str(name): str(state)
            for name, state in (capabilities.items() if isinstance(capabilities, Mapping) else ())
        },
        requirements_due=tuple(due),
        disabled_reason=requirements.get("disabled_reason"),
    )


def to_transfer(raw: Mapping[str, Any]) -> Transfer:
    """https://docs.stripe.com/api/transfers/object"""
    return Transfer(
        id=_required_str(raw, "id", "transfer"),
        amount_minor=_required_int(raw, "amount", "transfer"),
        currency=_required_str(raw, "currency", "transfer").upper(),
        destination=_id_of(raw.get("destination")) or "",
        transfer_group=raw.get("transfer_group"),
        reversed=bool(raw.get("reversed")),
    )


def to_transfer_reversal(raw: Mapping[str, Any]) -> TransferReversal:
    """https://docs.stripe.com/api/transfer_reversals/object; `transfer` may be expanded."""
    transfer_id = _id_of(raw.get("transfer"))
    if not transfer_id:
        raise StripePayloadError(
            "Stripe transfer reversal without `transfer`", integration=SPEC.slug
        )
    return TransferReversal(
        id=_required_str(raw, "id", "transfer_reversal"),
        transfer_id=transfer_id,
        amount_minor=_required_int(raw, "amount", "transfer_reversal"),
        currency=_required_str(raw, "currency", "transfer_reversal").upper(),
    )


def to_bank_account(raw: Mapping[str, Any]) -> ExternalBankAccount:
    """https://docs.stripe.com/api/external_account_bank_accounts/object"""
    return ExternalBankAccount(
        id=_required_str(raw, "id", "bank_account"),
        last4=_required_str(raw, "last4", "bank_account"),
        bank_name=raw.get("bank_name"),
        country=_required_str(raw, "country", "bank_account"),
        currency=_required_str(raw, "currency", "bank_account").upper(),
        status=raw.get("status") or "new",
    )


def to_provider_payout(raw: Mapping[str, Any]) -> ProviderPayout:
    """https://docs.stripe.com/api/payouts/object"""
    status = raw.get("status")
    if not isinstance(status, str) or status not in PayoutStatus.__members__:
        raise StripePayloadError(f"Stripe payout with status {status!r}", integration=SPEC.slug)
    arrival = _timestamp(raw.get("arrival_date"))
    return ProviderPayout(
        id=_required_str(raw, "id", "payout"),
        status=PayoutStatus(status),
        amount_minor=_required_int(raw, "amount", "payout"),
        currency=_required_str(raw, "currency", "payout").upper(),
        arrival_date=_date_of(arrival),
        failure_message=raw.get("failure_message"),
        reference=reference_of(raw),
    )


def to_balance_entry(raw: Mapping[str, Any]) -> BalanceEntry:
    """https://docs.stripe.com/api/balance_transactions/object; `source` may be expanded,
    in which case our reference is read from its metadata."""
    created = _timestamp(raw.get("created"))
    if created is None:
        raise StripePayloadError(
            "Stripe balance transaction without `created`", integration=SPEC.slug
        )
    source = raw.get("source")
    extra = {
        key: raw[key]
        for key in ("reporting_category", "status", "description")
        if raw.get(key) is not None
    }
    if isinstance(source, Mapping):
        # The payment an expanded charge or refund belongs to: what the ledger keys on.
        intent = source.get("payment_intent")
        intent_id = _id_of(intent)
        if intent_id:
            extra["payment_intent"] = intent_id
    return BalanceEntry(
        id=_required_str(raw, "id", "balance_transaction"),
        type=_required_str(raw, "type", "balance_transaction"),
        amount_minor=_required_int(raw, "amount", "balance_transaction"),
        fee_minor=_int_or_zero(raw.get("fee")),
        net_minor=_required_int(raw, "net", "balance_transaction"),
        currency=_required_str(raw, "currency", "balance_transaction").upper(),
        source=_id_of(source),
        reference=reference_of(source) if isinstance(source, Mapping) else None,
        created=created,
        available_on=_timestamp(raw.get("available_on")),
        extra=extra,
    )


def _int_or_zero(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _date_of(moment: datetime | None) -> date | None:
    return moment.astimezone(UTC).date() if moment is not None else None
