"""What the payments domain asks of a payment provider, in its own words.

`Payments` (in `capabilities`) collects money from clients: customers, invoices with a hosted
payment page, Checkout, subscriptions for retainers, refunds, and the provider's signed events.
`ConnectedPayouts` moves money on to the user: a connected account with the provider's own
onboarding, transfers from the platform balance, bank accounts and payouts to them. A provider
that offers neither half raises `NotSupported`, never invents data.

Every provider's event is read through `interpret`, which turns it into one `PaymentEvent`
whose `kind` the ledger understands, so PayPal, YooKassa or a crypto processor later post to
the same ledger through the same code as Stripe does now.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Customer(BaseModel):
    id: str
    email: str | None = None


class InvoiceLine(BaseModel):
    description: str
    quantity: int = Field(gt=0)
    unit_amount_minor: int = Field(ge=0)
    tax_minor: int = Field(default=0, ge=0, description="Tax on the whole line, already computed")


class InvoiceRequest(BaseModel):
    """An invoice the provider should collect: our numbering, our lines, our totals.

    The provider renders it on its hosted page (which handles SCA) and, where `send` is true,
    e-mails it to the customer. `reference` is our invoice id; it comes back on every event
    about the invoice and its payment, and is the idempotency key's stem."""

    customer_id: str
    currency: str = Field(min_length=3, max_length=3)
    number: str
    lines: tuple[InvoiceLine, ...] = Field(min_length=1)
    days_until_due: int = Field(default=14, ge=0, le=365)
    description: str | None = None
    reference: str
    transfer_group: str | None = None
    send: bool = False


class InvoiceStatus(StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    void = "void"
    uncollectible = "uncollectible"


class ProviderInvoice(BaseModel):
    id: str
    status: InvoiceStatus
    amount_due_minor: int
    amount_paid_minor: int
    currency: str
    hosted_url: str | None = None
    payment_id: str | None = Field(default=None, description="The payment that paid it")
    reference: str | None = None


class SubscriptionRequest(BaseModel):
    """A retainer: the provider invoices `amount_minor` every `interval`."""

    customer_id: str
    currency: str = Field(min_length=3, max_length=3)
    amount_minor: int = Field(gt=0)
    description: str
    interval: str = Field(pattern="^(week|month|year)$")
    interval_count: int = Field(default=1, ge=1, le=12)
    days_until_due: int = Field(default=14, ge=0, le=365)
    reference: str


class ProviderSubscription(BaseModel):
    id: str
    status: str
    current_period_end: datetime | None = None


class PaymentEventKind(StrEnum):
    payment_succeeded = "payment_succeeded"  # money from a client landed (gross, fee)
    invoice_paid = "invoice_paid"  # an invoice is paid (its payment also comes on its own)
    refunded = "refunded"  # money went back to the client (`amount_minor`: this refund)
    dispute_opened = "dispute_opened"  # the client disputed a payment; the amount is held
    dispute_closed = "dispute_closed"  # won (`status` won) or lost
    transfer_created = "transfer_created"
    payout_paid = "payout_paid"
    payout_failed = "payout_failed"
    account_updated = "account_updated"
    other = "other"  # verified but of no interest to the ledger


class PaymentEvent(BaseModel):
    """One provider event, verified, in the ledger's words.

    `id` is the provider's event id (the dedupe key); `object_id` the id of the thing it is
    about (payment, refund, dispute, payout, account); `payment_id` the payment it concerns;
    `reference` our own id that we put on the object when we created it, if any."""

    id: str
    type: str = Field(description="The provider's own event type")
    kind: PaymentEventKind
    created: datetime
    object_id: str
    payment_id: str | None = None
    invoice_id: str | None = None
    reference: str | None = None
    amount_minor: int | None = None
    fee_minor: int | None = None
    currency: str | None = None
    account: str | None = Field(default=None, description="The connected account it concerns")
    status: str | None = None
    failure_message: str | None = None
    account_state: ConnectedAccount | None = None
    livemode: bool = False


class ConnectedAccount(BaseModel):
    """A user's account at the provider, where transfers land and payouts start."""

    id: str
    email: str | None = None
    country: str | None = None
    details_submitted: bool = False
    charges_enabled: bool = False
    payouts_enabled: bool = False
    capabilities: Mapping[str, str] = Field(default_factory=dict)
    requirements_due: tuple[str, ...] = ()
    disabled_reason: str | None = None


class Transfer(BaseModel):
    id: str
    amount_minor: int
    currency: str
    destination: str
    transfer_group: str | None = None
    reversed: bool = False


class TransferReversal(BaseModel):
    """Money taken back from a connected account to the platform, all or part of a transfer."""

    id: str
    transfer_id: str
    amount_minor: int
    currency: str


class BankAccountRequest(BaseModel):
    """A bank account, validated before it gets here (IBAN and BIC by schwifty)."""

    holder_name: str
    country: str = Field(min_length=2, max_length=2)
    currency: str = Field(min_length=3, max_length=3)
    iban: str
    bic: str | None = None
    reference: str


class ExternalBankAccount(BaseModel):
    id: str
    last4: str
    bank_name: str | None = None
    country: str
    currency: str
    status: str


class PayoutSpeed(StrEnum):
    standard = "standard"  # a bank transfer, on the provider's schedule (days)
    instant = "instant"  # to an eligible debit card or bank, in minutes, for a fee


class PayoutRequest(BaseModel):
    account_id: str
    amount_minor: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    speed: PayoutSpeed = PayoutSpeed.standard
    destination: str | None = Field(default=None, description="Provider's bank account id")
    reference: str = Field(description="Our payout id; also the idempotency key")


class PayoutStatus(StrEnum):
    pending = "pending"
    in_transit = "in_transit"
    paid = "paid"
    failed = "failed"
    canceled = "canceled"


class ProviderPayout(BaseModel):
    id: str
    status: PayoutStatus
    amount_minor: int
    currency: str
    arrival_date: date | None = None
    failure_message: str | None = None
    reference: str | None = None


class BalanceEntry(BaseModel):
    """One line of the provider's balance history, what reconciliation compares."""

    id: str
    type: str
    amount_minor: int
    fee_minor: int
    net_minor: int
    currency: str
    source: str | None = None
    reference: str | None = None
    created: datetime
    available_on: datetime | None = None
    extra: Mapping[str, Any] = Field(default_factory=dict)


class RateTable(BaseModel):
    """Rates published for one day: `rates[code]` units of `code` buy one unit of `base`."""

    base: str = Field(min_length=3, max_length=3)
    day: date
    rates: Mapping[str, Decimal]
    source: str

    def rate(self, from_currency: str, to_currency: str) -> Decimal:
        """How many `to_currency` one `from_currency` buys, crossed through the base; raises
        KeyError for a currency the table does not have."""
        if from_currency == to_currency:
            return Decimal(1)
        table = {**self.rates, self.base: Decimal(1)}
        return table[to_currency] / table[from_currency]


PaymentEvent.model_rebuild()
