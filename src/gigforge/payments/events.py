"""The events the payments domain publishes (see `kit.outbox`)."""

from __future__ import annotations

import uuid

from gigforge.kit.outbox import EventPayload, event_type

_INVOICE = "01939a40-1a2b-7c3d-8e4f-5a6b7c8d9e0f"
_JOB = "01939a2e-5f62-7045-8c76-33b5ea260ff4"
_PAYOUT = "01939a41-2b3c-7d4e-9f50-6b7c8d9e0f1a"


@event_type(
    "invoice.issued",
    summary="An invoice (or credit note) got its number and became final",
    example={
        "invoice_id": _INVOICE,
        "number": "INV-000001",
        "kind": "invoice",
        "job_id": _JOB,
        "currency": "USD",
        "total_minor": 150000,
    },
)
class InvoiceIssued(EventPayload):
    invoice_id: uuid.UUID
    number: str
    kind: str
    job_id: uuid.UUID | None
    currency: str
    total_minor: int


@event_type(
    "invoice.paid",
    summary="An invoice is paid in full (through the provider or marked paid by hand)",
    example={"invoice_id": _INVOICE, "number": "INV-000001", "method": "stripe"},
)
class InvoicePaid(EventPayload):
    invoice_id: uuid.UUID
    number: str
    method: str


@event_type(
    "payment.received",
    summary="A client's payment reached the ledger; `net_minor` is the user's share",
    example={
        "invoice_id": _INVOICE,
        "provider": "stripe",
        "amount_minor": 150000,
        "net_minor": 142500,
        "currency": "USD",
    },
)
class PaymentReceived(EventPayload):
    invoice_id: uuid.UUID | None
    provider: str
    amount_minor: int
    net_minor: int
    currency: str


@event_type(
    "payment.refunded",
    summary="Money went back to a client (a refund, or a dispute the provider took)",
    example={"invoice_id": _INVOICE, "reason": "refund", "amount_minor": 5000, "currency": "USD"},
)
class PaymentRefunded(EventPayload):
    invoice_id: uuid.UUID | None
    reason: str
    amount_minor: int
    currency: str


@event_type(
    "payout.requested",
    summary="A payout was requested; its amount is held until it is paid or declined",
    example={
        "payout_id": _PAYOUT,
        "amount_minor": 50000,
        "currency": "USD",
        "method": "bank_transfer",
        "needs_approval": True,
    },
)
class PayoutRequested(EventPayload):
    payout_id: uuid.UUID
    amount_minor: int
    currency: str
    method: str
    needs_approval: bool


@event_type(
    "payout.status_changed",
    summary="A payout moved on: approved, sending, in_transit, paid, failed or declined",
    example={"payout_id": _PAYOUT, "status": "paid", "failure": None},
)
class PayoutStatusChanged(EventPayload):
    payout_id: uuid.UUID
    status: str
    failure: str | None = None


@event_type(
    "payments.account_updated",
    summary="The user's payout account at the provider changed (onboarding, capabilities)",
    example={"provider": "stripe", "details_submitted": True, "payouts_enabled": True},
)
class PayoutAccountUpdated(EventPayload):
    provider: str
    details_submitted: bool
    payouts_enabled: bool


@event_type(
    "payments.reconciliation_differences",
    summary="Reconciliation found differences between the provider's records and the ledger",
    example={"provider": "stripe", "differences": 2},
)
class ReconciliationDifferences(EventPayload):
    provider: str
    differences: int
