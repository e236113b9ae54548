"""Request and response shapes of /payments (seed 002's paths): amounts are major units as
JSON numbers, computed exactly from the ledger's integer minor units."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from gigforge.kit.money import MajorAmount
from gigforge.kit.schemas import InputSchema, OutputSchema
from gigforge.ledger.kinds import TransactionKind
from gigforge.payments.models import (
    BankAccountStatus,
    InvoiceKind,
    InvoiceStatus,
    PaymentMethod,
    PayoutMethod,
    PayoutStatus,
)

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=18, description="In major units (500.00)")]


class CurrencyBalanceRead(OutputSchema):
    currency: str
    balance: MajorAmount
    pending: MajorAmount
    available_for_withdrawal: MajorAmount
    reserved: MajorAmount
    owed: MajorAmount
    fees_paid: MajorAmount


class WalletRead(OutputSchema):
    """Seed 002's wallet for the user's default currency, plus every currency held."""

    currency: str
    balance: MajorAmount
    pending: MajorAmount
    available_for_withdrawal: MajorAmount
    reserved: MajorAmount
    currencies: list[CurrencyBalanceRead]


class PostingRead(OutputSchema):
    account: str = Field(description="available, pending, reserved, fees, owed or external")
    provider: str | None
    amount: MajorAmount
    currency: str


class TransactionRead(OutputSchema):
    transaction_id: uuid.UUID
    type: TransactionKind
    description: str
    occurred_at: datetime
    reference_type: str | None
    reference_id: str | None
    amount: MajorAmount = Field(
        description=(
            "What it did to your balance (negative: money left); for a release or a hold, "
            "which move money between your own balances, what it did to the available one"
        )
    )
    currency: str
    postings: list[PostingRead] | None = None


class TransactionPage(OutputSchema):
    items: list[TransactionRead]
    next_cursor: uuid.UUID | None


class PayoutCreate(InputSchema):
    amount: Amount
    method: PayoutMethod = PayoutMethod.bank_transfer
    bank_account_id: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        default=None, description="Our bank account id, or the provider's (ba_...)"
    )
    currency: Currency | None = Field(default=None, description="Default: your currency")


class PayoutApprove(InputSchema):
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class PayoutRead(OutputSchema):
    payout_id: uuid.UUID = Field(validation_alias="id")
    status: PayoutStatus
    amount: MajorAmount
    currency: str
    method: PayoutMethod
    bank_account_id: uuid.UUID | None
    auto_approved: bool
    needs_approval: bool
    provider_payout_id: str | None
    failure: str | None
    created_at: datetime
    approved_at: datetime | None
    paid_at: datetime | None
    arrival_date: datetime | None


class PayoutPage(OutputSchema):
    items: list[PayoutRead]
    total: int
    limit: int
    offset: int


class ConnectStripe(InputSchema):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)] = "US"
    return_url: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="Where the provider sends the user back; default: dashboard"
    )


class PayoutAccountRead(OutputSchema):
    provider: str
    account_id: str
    details_submitted: bool
    charges_enabled: bool
    payouts_enabled: bool
    capabilities: dict[str, str]
    requirements_due: list[str]
    disabled_reason: str | None
    onboarding_url: str | None = None


class BankAccountCreate(InputSchema):
    holder_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    iban: Annotated[str, StringConstraints(min_length=15, max_length=42)]
    bic: Annotated[str, StringConstraints(min_length=8, max_length=11)] | None = None
    currency: Currency = "EUR"


class BankAccountRead(OutputSchema):
    id: uuid.UUID
    holder_name: str
    country: str
    currency: str
    bank_name: str | None
    bic: str | None
    iban_masked: str
    last4: str
    status: BankAccountStatus
    provider_bank_id: str | None
    error: str | None


class LineCreate(InputSchema):
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    quantity: int = Field(default=1, ge=1, le=1_000_000)
    unit_amount: Annotated[Decimal, Field(ge=0, max_digits=18)]
    tax_rate: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)


class InvoiceCreate(InputSchema):
    job_id: uuid.UUID | None = None
    milestone: Annotated[str, StringConstraints(max_length=200)] | None = None
    client_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    client_email: EmailStr | None = None
    currency: Currency | None = None
    lines: list[LineCreate] | None = Field(
        default=None, description="Default for a job: one line, its title at its budget"
    )
    amount: Amount | None = Field(default=None, description="For a job: invoice this amount")
    tax_rate: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)
    memo: Annotated[str, StringConstraints(max_length=5000)] = ""
    days_until_due: int = Field(default=14, ge=0, le=365)
    method: PaymentMethod = PaymentMethod.stripe


class InvoiceIssue(InputSchema):
    exchange_rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=10)] | None = None
    send: bool = Field(default=True, description="E-mail it to the client (provider's page)")


class InvoiceCredit(InputSchema):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    amount: Amount | None = Field(default=None, description="Default: all that is left")


class InvoicePaid(InputSchema):
    reference: Annotated[str, StringConstraints(min_length=1, max_length=80)] = Field(
        description="The bank transfer's reference, as on your statement"
    )


class InvoiceLineRead(OutputSchema):
    description: str
    quantity: int
    unit_amount: MajorAmount
    tax_rate: Decimal
    tax: MajorAmount
    amount: MajorAmount


class InvoiceRead(OutputSchema):
    invoice_id: uuid.UUID
    kind: InvoiceKind
    number: str | None
    status: InvoiceStatus
    job_id: uuid.UUID | None
    milestone: str | None
    corrects_id: uuid.UUID | None
    client_name: str
    client_email: str | None
    memo: str
    currency: str
    subtotal: MajorAmount
    tax: MajorAmount
    total: MajorAmount
    amount_paid: MajorAmount
    home_currency: str
    exchange_rate: Decimal
    rate_source: str | None
    home_total: MajorAmount
    method: PaymentMethod
    pay_url: str | None
    send_error: str | None
    issued_at: datetime | None
    due_at: datetime | None
    paid_at: datetime | None
    lines: list[InvoiceLineRead] = Field(default_factory=list)


class InvoicePage(OutputSchema):
    items: list[InvoiceRead]
    total: int
    limit: int
    offset: int


class RetainerCreate(InputSchema):
    client_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    client_email: EmailStr | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    currency: Currency
    amount: Amount
    tax_rate: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)
    interval: Annotated[str, StringConstraints(pattern=r"^(week|month|year)$")] = "month"
    interval_count: int = Field(default=1, ge=1, le=12)
    starts_at: datetime | None = None
    job_id: uuid.UUID | None = None
    method: PaymentMethod = PaymentMethod.stripe


class RetainerRead(OutputSchema):
    id: uuid.UUID
    client_name: str
    description: str
    currency: str
    amount: MajorAmount
    interval: str
    interval_count: int
    next_run_at: datetime
    active: bool
    issued_count: int


class PaymentSettingsUpdate(InputSchema):
    home_currency: Currency | None = None
    auto_payout_max: Annotated[Decimal, Field(ge=0, max_digits=18)] | None = Field(
        default=None, description="Payouts up to this are approved without asking (0: never)"
    )
    auto_payout_daily_max: Annotated[Decimal, Field(ge=0, max_digits=18)] | None = None


class PaymentSettingsRead(OutputSchema):
    home_currency: str
    auto_payout_max: MajorAmount
    auto_payout_daily_max: MajorAmount


class WebhookAck(OutputSchema):
    received: bool
    status: str
