"""The platform's transfer of a client's payment, less its fee, to the user's connected
account (Stripe Connect's separate charges and transfers, `transfer_group` = the job).

It runs when the payment is in and the job is complete. Claim, call with no transaction
open (the idempotency key is made from the payment's id, so a retry after a crash gets the
same transfer back), record: the ledger then moves the amount from pending to available.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, update

from gigforge.integrations.framework import NotSupported, Permanent
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.ledger.kinds import AccountKind, TransactionKind
from gigforge.ledger.service import Leg, ledger
from gigforge.payments.models import Payment, TransferStatus
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.repository import PaymentRepository, PayoutAccountRepository


class TransferBusy(Exception):
    """Another run holds the payment's transfer lease."""


async def transfer(platform: PaymentsPlatform, payment_id: uuid.UUID, *, lease: timedelta) -> None:
    database = platform.context.database
    now = utcnow()
    async with unit_of_work(database) as session:
        taken = await session.execute(
            update(Payment)
            .where(
                Payment.id == payment_id,
                or_(
                    Payment.transfer_status == TransferStatus.due,
                    and_(
                        Payment.transfer_status == TransferStatus.sending,
                        Payment.lease_until < now,
                    ),
                ),
            )
            .values(transfer_status=TransferStatus.sending, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
        payment = await session.get(Payment, payment_id, populate_existing=True)
        if getattr(taken, "rowcount", 0) != 1:
            if payment is not None and payment.transfer_status is TransferStatus.sending:
                raise TransferBusy(f"payment {payment_id} is being transferred by another run")
            return
        assert payment is not None
        account = await PayoutAccountRepository(session).of(payment.user_id)
        amount = (
            payment.amount_minor
            - payment.platform_fee_minor
            - payment.refunded_minor
            - payment.disputed_minor
        )
        if amount <= 0:
            payment.transfer_status = TransferStatus.not_needed
            payment.lease_until = None
            return
        if account is None or not account.payouts_enabled:
            # It waits for the user to connect; finishing onboarding queues it again.
            payment.transfer_status = TransferStatus.due
            payment.lease_until = None
            payment.transfer_error = (
                "Waiting for your payout account: connect it under Payments to receive this"
            )
            return
        destination = account.account_id
        group = str(payment.job_id or payment.invoice_id or payment.id)
        currency = payment.currency
    connector = platform.payouts()
    try:
        async with connector.client:
            made = await connector.transfer(
                amount_minor=amount,
                currency=currency,
                destination=destination,
                transfer_group=group,
                reference=f"tr-{payment_id}",
            )
    except (Permanent, NotSupported) as exc:
        async with unit_of_work(database) as session:
            failed = await PaymentRepository(session).locked(payment_id)
            if failed is not None and failed.transfer_status is TransferStatus.sending:
                failed.transfer_status = TransferStatus.failed
                failed.transfer_error = exc.detail[:500]
                failed.lease_until = None
        return
    async with unit_of_work(database) as session:
        done = await PaymentRepository(session).locked(payment_id)
        if done is None or done.transfer_status is not TransferStatus.sending:
            return
        done.transfer_status = TransferStatus.done
        done.transfer_id = made.id
        done.transfer_error = None
        done.lease_until = None
        await ledger.post(
            session,
            done.user_id,
            [
                Leg(AccountKind.pending, -amount, currency),
                Leg(AccountKind.available, amount, currency),
            ],
            kind=TransactionKind.release,
            key=f"release:{payment_id}",
            description="Paid to your payout account",
            reference=("invoice", str(done.invoice_id)) if done.invoice_id else None,
            details={"transfer_id": made.id, "transfer_group": group},
        )


async def reverse(
    platform: PaymentsPlatform, payment_id: uuid.UUID, *, amount_minor: int, reference: str
) -> None:
    """Take back from the user's connected account what a refund or dispute took from their
    available balance after the transfer (the ledger already moved it; this is the money at
    the provider following). Idempotent by `reference`; a refusal (the account no longer has
    the money) is kept on the payment for the user and the reconciliation to see."""
    database = platform.context.database
    async with unit_of_work(database) as session:
        payment = await PaymentRepository(session).get(payment_id)
        if payment is None or payment.transfer_id is None:
            return
        transfer_id = payment.transfer_id
    connector = platform.payouts()
    try:
        async with connector.client:
            await connector.reverse_transfer(
                transfer_id, amount_minor=amount_minor, reference=reference
            )
    except (Permanent, NotSupported) as exc:
        async with unit_of_work(database) as session:
            failed = await PaymentRepository(session).locked(payment_id)
            if failed is not None:
                failed.transfer_error = f"Taking back {amount_minor}: {exc.detail}"[:500]
