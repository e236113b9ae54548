"""Background work of the payments domain: invoices at the provider, transfers, payouts,
retainers, exchange rates, the events catch-up, and reconciliation."""

from __future__ import annotations

import uuid
from datetime import timedelta

from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskContext, enqueue, task
from gigforge.payments import billing, payouts, rates, reconciling, retainers, transfers
from gigforge.payments.accounts import REGISTER_BANK_TASK, register_bank_account
from gigforge.payments.collecting import REVERSE_TASK, TRANSFER_TASK, retry_deferred
from gigforge.payments.invoices import REFUND_TASK, SEND_TASK, VOID_TASK
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.repository import PaymentRepository, PayoutRepository

SWEEP_TASK = "payments.sweep"
SWEEP_EVERY = timedelta(minutes=1)
RETAINERS_EVERY = timedelta(minutes=15)
RATES_EVERY = timedelta(hours=6)
RECONCILE_EVERY = timedelta(hours=24)
CATCH_UP_EVERY = timedelta(minutes=10)


@task(SEND_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def send_invoice(context: TaskContext, *, invoice_id: str, send: bool = True) -> None:
    """Create the issued invoice at the provider (with its customer) and send it; safe to
    run twice (idempotency keys from the invoice's id)."""
    await billing.send_invoice(context.get(PaymentsPlatform), uuid.UUID(invoice_id), send=send)


@task(VOID_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def void_invoice(context: TaskContext, *, invoice_id: str) -> None:
    await billing.void_invoice(context.get(PaymentsPlatform), uuid.UUID(invoice_id))


@task(REFUND_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def refund_credit_note(context: TaskContext, *, credit_note_id: str) -> None:
    await billing.refund_credit_note(context.get(PaymentsPlatform), uuid.UUID(credit_note_id))


@task(TRANSFER_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def transfer(context: TaskContext, *, payment_id: str) -> None:
    """Transfer a payment's share to the user's connected account, once."""
    await transfers.transfer(
        context.get(PaymentsPlatform), uuid.UUID(payment_id), lease=context.lease
    )


@task(REVERSE_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def reverse_transfer(
    context: TaskContext, *, payment_id: str, amount_minor: int, reference: str
) -> None:
    """Reverse part of a transfer after a refund or dispute; safe to run twice (its key)."""
    await transfers.reverse(
        context.get(PaymentsPlatform),
        uuid.UUID(payment_id),
        amount_minor=amount_minor,
        reference=reference,
    )


@task(payouts.SEND_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def send_payout(context: TaskContext, *, payout_id: str) -> None:
    """Send an approved payout, once (claim, reconcile by reference, call, record)."""
    await payouts.send(context.get(PaymentsPlatform), uuid.UUID(payout_id), lease=context.lease)


@task(REGISTER_BANK_TASK, max_attempts=8, backoff=timedelta(seconds=30))
async def register_bank(context: TaskContext, *, bank_account_id: str) -> None:
    await register_bank_account(context.get(PaymentsPlatform), uuid.UUID(bank_account_id))


@task(SWEEP_TASK, max_attempts=1)
async def sweep(context: TaskContext) -> None:
    """Every minute: re-queue transfers and payouts that are due or whose run died, and
    apply provider events that waited for something that has since arrived."""
    platform = context.get(PaymentsPlatform)
    if not platform.configured:
        return
    async with unit_of_work(context.database) as session:
        from gigforge.kit.clock import utcnow

        now = utcnow()
        for payment in await PaymentRepository(session).transfers_due(now):
            if payment.transfer_error is None:
                await enqueue(
                    session,
                    TRANSFER_TASK,
                    payment_id=str(payment.id),
                    dedupe_key=f"{TRANSFER_TASK}:{payment.id}:{now:%Y%m%d%H%M}",
                )
        for payout in await PayoutRepository(session).due(now):
            await enqueue(
                session,
                payouts.SEND_TASK,
                payout_id=str(payout.id),
                dedupe_key=f"{payouts.SEND_TASK}:{payout.id}:{now:%Y%m%d%H%M}",
            )
        await retry_deferred(session, platform.provider, fee_bps=platform.fee_bps)
    await payouts.check_in_transit(platform)


@task(retainers.ISSUE_TASK, max_attempts=3, backoff=timedelta(minutes=1))
async def issue_retainers(context: TaskContext) -> None:
    await retainers.issue_due(context.database)


@task(rates.REFRESH_TASK, max_attempts=3, backoff=timedelta(minutes=5))
async def refresh_rates(context: TaskContext) -> None:
    await rates.refresh(context.get(PaymentsPlatform).context)


@task(billing.CATCH_UP_TASK, max_attempts=3, backoff=timedelta(minutes=1))
async def catch_up_events(context: TaskContext) -> None:
    """Apply provider events a lost webhook did not bring."""
    platform = context.get(PaymentsPlatform)
    if platform.configured:
        await billing.catch_up(platform)


@task(reconciling.RECONCILE_TASK, max_attempts=3, backoff=timedelta(minutes=10))
async def reconcile(context: TaskContext) -> None:
    platform = context.get(PaymentsPlatform)
    if platform.configured:
        await reconciling.reconcile(platform)
