"""Money in: provider events applied to the ledger exactly once, in any order.

Every verified event is kept once in `provider_events` (its provider and id are unique): a
redelivery finds it there and changes nothing. Each ledger transaction it causes carries an
idempotency key made from the provider's own object ids (`stripe:payment:pi_...`), so two
different events about the same payment (`invoice.paid` and `payment_intent.succeeded`) post
it once. An event about something not seen yet (a refund before its payment, which Stripe does
not promise to order) is kept `deferred` and applied right after the thing it needs arrives,
or by the sweep.

A client's payment lands in the user's `pending` balance less the platform's fee. It becomes
`available` when the platform's transfer to the user's connected account succeeds, which
happens once the job is complete (at once for an invoice without a job). A refund or dispute
takes from pending what the transfer has not moved yet, then from available, and records
anything beyond that as owed. The service never commits.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.integrations.framework.payments import PaymentEvent, PaymentEventKind
from gigforge.jobs.events import JobStatusChanged
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.clock import utcnow
from gigforge.kit.outbox import EventPayload, publish, react
from gigforge.kit.tasks import enqueue
from gigforge.ledger.kinds import AccountKind, TransactionKind
from gigforge.ledger.service import Leg, ledger
from gigforge.payments.events import InvoicePaid, PaymentReceived, PaymentRefunded
from gigforge.payments.models import (
    EventStatus,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    TransferStatus,
)
from gigforge.payments.repository import EventRepository, InvoiceRepository, PaymentRepository

TRANSFER_TASK = "payments.transfer"
REVERSE_TASK = "payments.reverse_transfer"
MANUAL = "manual"


async def record_payment(
    session: AsyncSession,
    invoice: Invoice,
    *,
    provider: str,
    payment_id: str,
    amount_minor: int,
    currency: str,
    fee_bps: int,
) -> Payment | None:
    """Record a client's payment of `invoice` once; None when it was already recorded."""
    if currency != invoice.currency:
        raise ValueError(
            f"payment in {currency} for invoice {invoice.number} in {invoice.currency}"
        )
    manual = provider == MANUAL
    fee = 0 if manual else (amount_minor * fee_bps + 5_000) // 10_000
    net = amount_minor - fee
    repository = PaymentRepository(session)
    job_complete = True
    if invoice.job_id is not None:
        job = await job_service.find(session, invoice.job_id)
        job_complete = job is None or job.status is JobStatus.completed
    payment_row_id = uuid.uuid4()
    inserted = await repository.insert(
        {
            "id": payment_row_id,
            "user_id": invoice.user_id,
            "invoice_id": invoice.id,
            "job_id": invoice.job_id,
            "provider": provider,
            "provider_payment_id": payment_id,
            "currency": currency,
            "amount_minor": amount_minor,
            "platform_fee_minor": fee,
            "status": PaymentStatus.succeeded.value,
            "transfer_status": (
                TransferStatus.not_needed
                if manual
                else (TransferStatus.due if job_complete else TransferStatus.waiting)
            ).value,
            "received_at": utcnow(),
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
    )
    if not inserted:
        return None
    legs = [Leg(AccountKind.external, -amount_minor, currency, provider)]
    if manual:
        # A bank transfer reached the user's own account: earned, and already out.
        legs.append(Leg(AccountKind.available, amount_minor, currency))
    else:
        legs.append(Leg(AccountKind.pending, net, currency))
        if fee:
            legs.append(Leg(AccountKind.fees, fee, currency))
    await ledger.post(
        session,
        invoice.user_id,
        legs,
        kind=TransactionKind.payment,
        key=f"{provider}:payment:{payment_id}",
        description=f"Payment of {invoice.number} by {invoice.client_name}",
        reference=("invoice", str(invoice.id)),
        details={"payment_id": payment_id, "platform_fee_minor": fee},
    )
    if manual:
        await ledger.post(
            session,
            invoice.user_id,
            [
                Leg(AccountKind.available, -amount_minor, currency),
                Leg(AccountKind.external, amount_minor, currency, provider),
            ],
            kind=TransactionKind.payout,
            key=f"{provider}:received:{payment_id}",
            description=f"{invoice.number} was paid straight into your bank account",
            reference=("invoice", str(invoice.id)),
        )
    invoice.amount_paid_minor += amount_minor
    if invoice.amount_paid_minor >= invoice.total_minor and invoice.status is InvoiceStatus.issued:
        invoice.status = InvoiceStatus.paid
        invoice.paid_at = utcnow()
        await publish(
            session,
            InvoicePaid(invoice_id=invoice.id, number=invoice.number or "", method=provider),
            user_id=invoice.user_id,
        )
    await publish(
        session,
        PaymentReceived(
            invoice_id=invoice.id,
            provider=provider,
            amount_minor=amount_minor,
            net_minor=net,
            currency=currency,
        ),
        user_id=invoice.user_id,
    )
    payment = await repository.get(payment_row_id)
    assert payment is not None
    if payment.transfer_status is TransferStatus.due:
        await enqueue(session, TRANSFER_TASK, payment_id=str(payment.id))
    await _apply_deferred_for(session, provider, payment_id, fee_bps)
    return payment


async def mark_paid_by_hand(
    session: AsyncSession, invoice: Invoice, *, reference: str
) -> Payment | None:
    """The user says the client paid by bank transfer (`reference`: the transfer's reference)."""
    remaining = invoice.total_minor - invoice.amount_paid_minor
    return await record_payment(
        session,
        invoice,
        provider=MANUAL,
        payment_id=f"{invoice.id}:{reference}"[:100],
        amount_minor=remaining,
        currency=invoice.currency,
        fee_bps=0,
    )


async def apply_event(
    session: AsyncSession, provider: str, event: PaymentEvent, *, fee_bps: int
) -> EventStatus:
    """Apply one verified provider event once; returns what became of it."""
    events = EventRepository(session)
    payload = event.model_dump(mode="json")
    if not await events.record(
        {
            "id": uuid.uuid4(),
            "provider": provider,
            "event_id": event.id,
            "type": event.type[:100],
            "kind": event.kind.value,
            "status": EventStatus.deferred.value,
            "payload": payload,
            "received_at": utcnow(),
        }
    ):
        existing = await events.get(provider, event.id)
        return existing.status if existing is not None else EventStatus.ignored
    stored = await events.get(provider, event.id)
    assert stored is not None
    status, note = await _apply(session, provider, event, fee_bps)
    stored.status = status
    stored.note = note
    if status is not EventStatus.deferred:
        stored.applied_at = utcnow()
    await session.flush()
    return status


async def retry_deferred(session: AsyncSession, provider: str, *, fee_bps: int) -> int:
    """Apply what waited for something that has arrived since; returns how many applied."""
    applied = 0
    for stored in await EventRepository(session).deferred():
        event = PaymentEvent.model_validate(stored.payload)
        status, note = await _apply(session, stored.provider, event, fee_bps)
        if status is not EventStatus.deferred:
            stored.status, stored.note, stored.applied_at = status, note, utcnow()
            applied += 1
    await session.flush()
    return applied


async def _apply_deferred_for(
    session: AsyncSession, provider: str, payment_id: str, fee_bps: int
) -> None:
    for stored in await EventRepository(session).deferred():
        if stored.provider != provider or stored.payload.get("payment_id") != payment_id:
            continue
        event = PaymentEvent.model_validate(stored.payload)
        status, note = await _apply(session, provider, event, fee_bps)
        if status is not EventStatus.deferred:
            stored.status, stored.note, stored.applied_at = status, note, utcnow()


async def _apply(
    session: AsyncSession, provider: str, event: PaymentEvent, fee_bps: int
) -> tuple[EventStatus, str | None]:
    kind = event.kind
    if kind in (PaymentEventKind.payment_succeeded, PaymentEventKind.invoice_paid):
        return await _payment(session, provider, event, fee_bps)
    if kind in (PaymentEventKind.refunded, PaymentEventKind.dispute_opened):
        return await _money_back(session, provider, event)
    if kind is PaymentEventKind.dispute_closed:
        return await _dispute_closed(session, provider, event)
    if kind in (PaymentEventKind.payout_paid, PaymentEventKind.payout_failed):
        from gigforge.payments.payouts import apply_payout_event

        return await apply_payout_event(session, provider, event)
    if kind is PaymentEventKind.account_updated:
        from gigforge.payments.accounts import apply_account_event

        return await apply_account_event(session, provider, event)
    return EventStatus.ignored, "not about money the ledger keeps"


async def _invoice_of(session: AsyncSession, event: PaymentEvent) -> Invoice | None:
    repository = InvoiceRepository(session)
    if event.reference:
        try:
            invoice = await repository.get(uuid.UUID(event.reference))
        except ValueError:
            invoice = None
        if invoice is not None:
            return invoice
    if event.invoice_id:
        return await repository.by_provider_invoice(event.invoice_id)
    return None


async def _payment(
    session: AsyncSession, provider: str, event: PaymentEvent, fee_bps: int
) -> tuple[EventStatus, str | None]:
    payment_id = event.payment_id or event.object_id
    if await PaymentRepository(session).by_provider_id(provider, payment_id) is not None:
        return EventStatus.applied, "the payment was already recorded"
    invoice = await _invoice_of(session, event)
    if invoice is None:
        return EventStatus.ignored, "not the payment of a Gigforge invoice"
    if invoice.kind is not InvoiceKind.invoice or invoice.status not in (
        InvoiceStatus.issued,
        InvoiceStatus.paid,
        InvoiceStatus.void,
    ):
        return EventStatus.ignored, f"invoice {invoice.number} is {invoice.status.value}"
    amount = event.amount_minor
    if amount is None or event.currency is None:
        return EventStatus.ignored, "the event carries no amount"
    locked = await InvoiceRepository(session).locked(invoice.id)
    assert locked is not None
    await record_payment(
        session,
        locked,
        provider=provider,
        payment_id=payment_id,
        amount_minor=amount,
        currency=event.currency.upper(),
        fee_bps=fee_bps,
    )
    return EventStatus.applied, None


async def _money_back(
    session: AsyncSession, provider: str, event: PaymentEvent
) -> tuple[EventStatus, str | None]:
    """A refund or a dispute: the provider took `amount_minor` back from the payment."""
    if event.payment_id is None or not event.amount_minor:
        return EventStatus.ignored, "the event names no payment or amount"
    repository = PaymentRepository(session)
    found = await repository.by_provider_id(provider, event.payment_id)
    if found is None:
        return EventStatus.deferred, "waiting for the payment it refers to"
    payment = await repository.locked(found.id)
    assert payment is not None
    dispute = event.kind is PaymentEventKind.dispute_opened
    amount = event.amount_minor
    currency = payment.currency
    # What the transfer has not moved yet is still pending.
    net = payment.amount_minor - payment.platform_fee_minor
    taken_before = payment.refunded_minor + payment.disputed_minor
    pending_left = (
        max(0, net - taken_before)
        if payment.transfer_status not in (TransferStatus.done, TransferStatus.not_needed)
        else 0
    )
    from_pending = min(amount, pending_left)
    rest = amount - from_pending
    balance = await ledger.balance(session, payment.user_id, currency)
    from_available = min(rest, max(balance.available_minor, 0))
    owed = rest - from_available
    legs = [Leg(AccountKind.external, amount, currency, provider)]
    if from_pending:
        legs.append(Leg(AccountKind.pending, -from_pending, currency))
    if from_available:
        legs.append(Leg(AccountKind.available, -from_available, currency))
    if owed:
        legs.append(Leg(AccountKind.owed, -owed, currency))
    await ledger.post(
        session,
        payment.user_id,
        legs,
        kind=TransactionKind.dispute if dispute else TransactionKind.refund,
        key=f"{provider}:{'dispute' if dispute else 'refund'}:{event.object_id}",
        description=("Disputed by the client" if dispute else "Refunded to the client"),
        reference=("invoice", str(payment.invoice_id)) if payment.invoice_id else None,
        details={"payment_id": payment.provider_payment_id, "object_id": event.object_id},
    )
    if dispute:
        payment.disputed_minor += amount
        payment.status = PaymentStatus.disputed
    else:
        payment.refunded_minor += amount
        payment.status = (
            PaymentStatus.refunded
            if payment.refunded_minor >= payment.amount_minor
            else PaymentStatus.partially_refunded
        )
    if from_available and payment.transfer_id is not None:
        # The user's share had already gone to their connected account: take it back there too.
        await enqueue(
            session,
            REVERSE_TASK,
            payment_id=str(payment.id),
            amount_minor=from_available,
            reference=f"rev-{provider}-{event.object_id}"[:200],
        )
    if payment.transfer_status in (TransferStatus.due, TransferStatus.waiting) and (
        payment.refunded_minor + payment.disputed_minor >= net
    ):
        payment.transfer_status = TransferStatus.not_needed
    await publish(
        session,
        PaymentRefunded(
            invoice_id=payment.invoice_id,
            reason="dispute" if dispute else "refund",
            amount_minor=amount,
            currency=currency,
        ),
        user_id=payment.user_id,
    )
    return EventStatus.applied, None


async def _dispute_closed(
    session: AsyncSession, provider: str, event: PaymentEvent
) -> tuple[EventStatus, str | None]:
    if event.status != "won":
        return EventStatus.applied, "the dispute was lost; the amount stays with the client"
    if event.payment_id is None or not event.amount_minor:
        return EventStatus.ignored, "the event names no payment or amount"
    payment = await PaymentRepository(session).by_provider_id(provider, event.payment_id)
    if payment is None:
        return EventStatus.deferred, "waiting for the payment it refers to"
    await ledger.post(
        session,
        payment.user_id,
        [
            Leg(AccountKind.external, -event.amount_minor, payment.currency, provider),
            Leg(AccountKind.available, event.amount_minor, payment.currency),
        ],
        kind=TransactionKind.dispute_won,
        key=f"{provider}:dispute_won:{event.object_id}",
        description="A dispute closed in your favour",
        reference=("invoice", str(payment.invoice_id)) if payment.invoice_id else None,
    )
    payment.disputed_minor = max(0, payment.disputed_minor - event.amount_minor)
    return EventStatus.applied, None


async def release_for_job(session: AsyncSession, job_id: uuid.UUID) -> int:
    """The job is complete: its payments waiting for that are due for transfer."""
    queued = 0
    for payment in await PaymentRepository(session).waiting_for_job(job_id):
        payment.transfer_status = TransferStatus.due
        await enqueue(session, TRANSFER_TASK, payment_id=str(payment.id))
        queued += 1
    await session.flush()
    return queued


async def _on_job_status(
    session: AsyncSession, payload: EventPayload, _user_id: uuid.UUID | None
) -> None:
    if isinstance(payload, JobStatusChanged) and payload.status == JobStatus.completed.value:
        await release_for_job(session, payload.job_id)


react(JobStatusChanged.event_type, _on_job_status)


def summary(event: PaymentEvent) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "kind": event.kind.value}


__all__ = ["MANUAL", "PaymentMethod", "apply_event", "mark_paid_by_hand", "record_payment"]
