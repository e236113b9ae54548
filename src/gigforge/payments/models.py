"""Payments tables: invoices and their lines, provider payments and events, connected
accounts, bank accounts, payouts, retainers and reconciliation runs.

The money itself is in the ledger; these rows are the documents and processes around it. An
issued invoice is never changed again except for its payment state; a correction is a credit
note, another invoice row pointing at the one it corrects.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin, TimestampMixin

Money = BigInteger().with_variant(Integer, "sqlite")


def _enum(kind: type[enum.StrEnum], length: int = 24) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class InvoiceKind(enum.StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


class InvoiceStatus(enum.StrEnum):
    draft = "draft"  # editable, not yet numbered for the client
    issued = "issued"  # final and immutable; waiting for payment
    paid = "paid"
    void = "void"  # cancelled after issue (by a credit note for the full amount)


class PaymentMethod(enum.StrEnum):
    stripe = "stripe"  # the provider's hosted invoice page
    manual = "manual"  # a bank transfer the user marks as received


class Invoice(IdMixin, TimestampMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("user_id", "number"),
        Index("ix_invoices_user_status", "user_id", "status"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[InvoiceKind] = mapped_column(_enum(InvoiceKind), default=InvoiceKind.invoice)
    #: Set when issued: the user's series number (INV-000001, CN-000001 for credit notes).
    number: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    milestone: Mapped[str | None] = mapped_column(String(200))
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    retainer_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus), default=InvoiceStatus.draft)
    client_name: Mapped[str] = mapped_column(String(200))
    client_email: Mapped[str | None] = mapped_column(String(320))
    memo: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    home_currency: Mapped[str] = mapped_column(String(3))
    #: Home-currency units per invoice-currency unit, fixed when the invoice is issued.
    exchange_rate: Mapped[Decimal] = mapped_column(Numeric(20, 10), default=Decimal(1))
    rate_source: Mapped[str | None] = mapped_column(String(100))
    subtotal_minor: Mapped[int] = mapped_column(Money, default=0)
    tax_minor: Mapped[int] = mapped_column(Money, default=0)
    total_minor: Mapped[int] = mapped_column(Money, default=0)
    home_total_minor: Mapped[int] = mapped_column(Money, default=0)
    amount_paid_minor: Mapped[int] = mapped_column(Money, default=0)
    days_until_due: Mapped[int] = mapped_column(default=14)
    method: Mapped[PaymentMethod] = mapped_column(
        _enum(PaymentMethod), default=PaymentMethod.stripe
    )
    provider: Mapped[str | None] = mapped_column(String(40))
    provider_customer_id: Mapped[str | None] = mapped_column(String(100))
    provider_invoice_id: Mapped[str | None] = mapped_column(String(100), index=True)
    hosted_url: Mapped[str | None] = mapped_column(String(2000))
    #: Why the provider could not take the invoice yet (shown; the send task retries).
    send_error: Mapped[str | None] = mapped_column(String(500))
    issued_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (UniqueConstraint("invoice_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int]
    unit_amount_minor: Mapped[int] = mapped_column(Money)
    #: Basis points: 2000 is 20 %.
    tax_rate_bps: Mapped[int] = mapped_column(default=0)
    tax_minor: Mapped[int] = mapped_column(Money, default=0)
    amount_minor: Mapped[int] = mapped_column(Money)


class InvoiceSeries(Base):
    """The next number of each of a user's series; taken under the row's lock."""

    __tablename__ = "invoice_series"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[InvoiceKind] = mapped_column(_enum(InvoiceKind), primary_key=True)
    next_number: Mapped[int] = mapped_column(default=1)


class Retainer(IdMixin, TimestampMixin, Base):
    """A recurring invoice: the same lines issued every period on a schedule."""

    __tablename__ = "retainers"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[uuid.UUID | None]
    client_name: Mapped[str] = mapped_column(String(200))
    client_email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str] = mapped_column(String(500))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Money)
    tax_rate_bps: Mapped[int] = mapped_column(default=0)
    interval: Mapped[str] = mapped_column(String(10))  # week, month, year
    interval_count: Mapped[int] = mapped_column(default=1)
    method: Mapped[PaymentMethod] = mapped_column(
        _enum(PaymentMethod), default=PaymentMethod.stripe
    )
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    active: Mapped[bool] = mapped_column(default=True)
    issued_count: Mapped[int] = mapped_column(default=0)


class PaymentStatus(enum.StrEnum):
    succeeded = "succeeded"
    partially_refunded = "partially_refunded"
    refunded = "refunded"
    disputed = "disputed"


class TransferStatus(enum.StrEnum):
    waiting = "waiting"  # until the job is complete
    due = "due"
    sending = "sending"
    done = "done"
    failed = "failed"
    not_needed = "not_needed"  # a manual payment: the money is already the user's


class Payment(IdMixin, TimestampMixin, Base):
    """A client's payment, as the provider reported it, and the transfer of its share."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "provider_payment_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    provider: Mapped[str] = mapped_column(String(40))
    provider_payment_id: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Money)
    platform_fee_minor: Mapped[int] = mapped_column(Money, default=0)
    refunded_minor: Mapped[int] = mapped_column(Money, default=0)
    disputed_minor: Mapped[int] = mapped_column(Money, default=0)
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus))
    transfer_status: Mapped[TransferStatus] = mapped_column(_enum(TransferStatus))
    transfer_id: Mapped[str | None] = mapped_column(String(100))
    transfer_error: Mapped[str | None] = mapped_column(String(500))
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventStatus(enum.StrEnum):
    applied = "applied"
    ignored = "ignored"
    deferred = "deferred"  # about a payment not seen yet (out of order); applied after it


class ProviderEvent(Base):
    """Every verified provider event, once: the exactly-once gate for applying them."""

    __tablename__ = "provider_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_provider_events_status", "status", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[EventStatus] = mapped_column(_enum(EventStatus))
    #: The interpreted event (ids, amounts, references; never secrets), to apply it later.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]


class PayoutAccount(TimestampMixin, Base):
    """The user's connected account at the payment provider."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(100), unique=True)
    details_submitted: Mapped[bool] = mapped_column(default=False)
    charges_enabled: Mapped[bool] = mapped_column(default=False)
    payouts_enabled: Mapped[bool] = mapped_column(default=False)
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requirements_due: Mapped[list[str]] = mapped_column(JSON, default=list)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class BankAccountStatus(enum.StrEnum):
    registering = "registering"
    active = "active"
    failed = "failed"


class BankAccount(IdMixin, TimestampMixin, Base):
    __tablename__ = "bank_accounts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    holder_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    bank_name: Mapped[str | None] = mapped_column(String(200))
    bic: Mapped[str | None] = mapped_column(String(11))
    #: The IBAN shown masked; the whole number is sealed in the vault until the provider has it.
    iban_masked: Mapped[str] = mapped_column(String(50))
    last4: Mapped[str] = mapped_column(String(4))
    secret_id: Mapped[uuid.UUID | None]
    status: Mapped[BankAccountStatus] = mapped_column(_enum(BankAccountStatus))
    provider: Mapped[str | None] = mapped_column(String(40))
    provider_bank_id: Mapped[str | None] = mapped_column(String(100), index=True)
    error: Mapped[str | None] = mapped_column(String(500))


class PayoutMethod(enum.StrEnum):
    bank_transfer = "bank_transfer"
    instant = "instant"
    check = "check"


class PayoutStatus(enum.StrEnum):
    awaiting_approval = "awaiting_approval"
    approved = "approved"  # queued for the provider
    sending = "sending"  # the provider call is under way (leased)
    in_transit = "in_transit"  # the provider took it; waiting for the bank
    paid = "paid"
    failed = "failed"
    declined = "declined"  # the user said no; the hold was voided


class Payout(IdMixin, TimestampMixin, Base):
    __tablename__ = "payouts"
    __table_args__ = (Index("ix_payouts_status_lease", "status", "lease_until"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[PayoutMethod] = mapped_column(_enum(PayoutMethod))
    bank_account_id: Mapped[uuid.UUID | None]
    status: Mapped[PayoutStatus] = mapped_column(_enum(PayoutStatus))
    hold_id: Mapped[uuid.UUID]
    auto_approved: Mapped[bool] = mapped_column(default=False)
    approved_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(40))
    provider_payout_id: Mapped[str | None] = mapped_column(String(100), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(String(500))
    arrival_date: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]


class PaymentSettings(TimestampMixin, Base):
    """A user's choices: home currency, and the capped rule that approves payouts."""

    __tablename__ = "payment_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    home_currency: Mapped[str] = mapped_column(String(3), default="USD")
    auto_payout_max_minor: Mapped[int] = mapped_column(Money, default=0)
    auto_payout_daily_max_minor: Mapped[int] = mapped_column(Money, default=0)


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    provider: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    checked: Mapped[int] = mapped_column(default=0)
    differences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(String(500))


class ExchangeRate(Base):
    """The latest published reference rate of one currency against the table's base."""

    __tablename__ = "exchange_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    day: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(100))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
