"""Invoices at the provider: created (with their customer) and sent after the issue commits,
voided when credited in full, refunded when a paid one is credited; and the catch-up that
reads the provider's recent events when a webhook went missing.

Every call is made with no transaction open and carries an idempotency key made from our own
ids, so a task run twice creates nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from gigforge.integrations.framework import NotSupported, Permanent
from gigforge.integrations.framework.payments import InvoiceLine as ProviderLine
from gigforge.integrations.framework.payments import InvoiceRequest, PaymentEvent
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.payments.collecting import apply_event, retry_deferred
from gigforge.payments.models import InvoiceStatus, PaymentMethod
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.repository import EventRepository, InvoiceRepository, PaymentRepository

CATCH_UP_TASK = "payments.catch_up_events"
#: How far back the catch-up reads when it has never run (Stripe keeps 30 days).
CATCH_UP_WINDOW = timedelta(days=3)


async def send_invoice(platform: PaymentsPlatform, invoice_id: uuid.UUID, *, send: bool) -> None:
    database = platform.context.database
    async with unit_of_work(database) as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        if (
            invoice is None
            or invoice.method is not PaymentMethod.stripe
            or invoice.status is not InvoiceStatus.issued
            or invoice.hosted_url is not None
        ):
            return
        lines = await InvoiceRepository(session).lines(invoice.id)
        request = InvoiceRequest(
            customer_id="",
            currency=invoice.currency,
            number=invoice.number or "",
            lines=tuple(
                ProviderLine(
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount_minor=line.unit_amount_minor,
                    tax_minor=line.tax_minor,
                )
                for line in lines
            ),
            days_until_due=invoice.days_until_due,
            description=f"Invoice {invoice.number}"
            + (f": {invoice.memo[:400]}" if invoice.memo else ""),
            reference=str(invoice.id),
            transfer_group=str(invoice.job_id) if invoice.job_id else None,
            send=send and bool(invoice.client_email),
        )
        email, name = invoice.client_email, invoice.client_name
    connector = platform.payments()
    try:
        async with connector.client:
            customer = await connector.create_customer(
                email=email or "", name=name, reference=str(invoice_id)
            )
            made = await connector.create_invoice(
                request.model_copy(update={"customer_id": customer.id})
            )
    except (Permanent, NotSupported) as exc:
        async with unit_of_work(database) as session:
            failed = await InvoiceRepository(session).get(invoice_id)
            if failed is not None:
                failed.send_error = exc.detail[:500]
        return
    async with unit_of_work(database) as session:
        done = await InvoiceRepository(session).locked(invoice_id)
        if done is None:
            return
        done.provider = platform.provider
        done.provider_customer_id = customer.id
        done.provider_invoice_id = made.id
        done.hosted_url = made.hosted_url
        done.send_error = None
        if request.send:
            done.sent_at = utcnow()


async def void_invoice(platform: PaymentsPlatform, invoice_id: uuid.UUID) -> None:
    async with unit_of_work(platform.context.database) as session:
        invoice = await InvoiceRepository(session).get(invoice_id)
        provider_id = invoice.provider_invoice_id if invoice is not None else None
    if provider_id is None:
        return
    connector = platform.payments()
    async with connector.client:
        current = await connector.get_invoice(provider_id)
        if current.status.value in ("open", "draft"):
            await connector.void_invoice(provider_id)


async def refund_credit_note(platform: PaymentsPlatform, credit_note_id: uuid.UUID) -> None:
    """A credit note on a paid invoice gives the client their money back through the
    provider; the ledger posts the refund when the provider's event says it happened."""
    async with unit_of_work(platform.context.database) as session:
        repository = InvoiceRepository(session)
        note = await repository.get(credit_note_id)
        if note is None or note.corrects_id is None:
            return
        payments = await PaymentRepository(session).for_invoice(note.corrects_id)
        refundable = [
            (payment.provider_payment_id, payment.amount_minor - payment.refunded_minor)
            for payment in payments
            if payment.provider == platform.provider
        ]
        amount = note.total_minor
    connector = platform.payments()
    async with connector.client:
        for number, (payment_id, left) in enumerate(refundable):
            if amount <= 0:
                break
            part = min(amount, left)
            if part <= 0:
                continue
            await connector.refund(
                payment_id, amount_minor=part, idempotency_key=f"refund-{credit_note_id}-{number}"
            )
            amount -= part


async def catch_up(platform: PaymentsPlatform) -> int:
    """Apply the provider's recent events this server has not seen (a webhook lost on the
    way); returns how many were new. Then retry what waited for something."""
    database = platform.context.database
    async with unit_of_work(database) as session:
        latest = await EventRepository(session).latest_received(platform.provider)
    since = (latest or utcnow()) - CATCH_UP_WINDOW if latest else utcnow() - CATCH_UP_WINDOW
    connector = platform.payments()
    found: list[PaymentEvent] = []
    async with connector.client:
        async for raw in connector.recent_events(created_after=since):
            found.append(connector.interpret(raw))
    applied = 0
    for event in reversed(found):  # oldest first
        async with unit_of_work(database) as session:
            if await EventRepository(session).get(platform.provider, event.id) is not None:
                continue
            await apply_event(session, platform.provider, event, fee_bps=platform.fee_bps)
            applied += 1
    async with unit_of_work(database) as session:
        await retry_deferred(session, platform.provider, fee_bps=platform.fee_bps)
    return applied
