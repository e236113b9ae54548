"""Reconciliation: the provider's balance history against what the ledger recorded.

Each run reads the platform's balance transactions for a window and compares them with the
payments, refunds and transfers the ledger holds, in both directions: a charge the ledger
never recorded, a payment the provider has no charge for, amounts that differ, a transfer
recorded on one side only, refunds whose totals differ. Every difference is kept on the run,
shown to admins (dashboard and `gigforge payments reconcile`) and announced as an event. It
changes nothing: a difference is for a person to look at.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from gigforge.integrations.framework.payments import BalanceEntry
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.payments.events import ReconciliationDifferences
from gigforge.payments.models import Payment, ReconciliationRun, TransferStatus
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.repository import ReconciliationRepository

RECONCILE_TASK = "payments.reconcile"
WINDOW = timedelta(days=7)
CHARGE_TYPES = frozenset({"charge", "payment"})
REFUND_TYPES = frozenset({"refund", "payment_refund"})


def compare(entries: list[BalanceEntry], payments: list[Payment]) -> list[dict[str, Any]]:
    """Every difference between the provider's entries and the ledger's payments."""
    differences: list[dict[str, Any]] = []
    by_intent = {payment.provider_payment_id: payment for payment in payments}
    by_transfer = {
        payment.transfer_id: payment for payment in payments if payment.transfer_id is not None
    }
    seen_charges: set[str] = set()
    seen_transfers: set[str] = set()
    refunds: dict[str, int] = defaultdict(int)
    for entry in entries:
        intent = str(entry.extra.get("payment_intent") or entry.source or "")
        if entry.type in CHARGE_TYPES:
            payment = by_intent.get(intent)
            if payment is None:
                differences.append(
                    _difference(
                        "charge_missing_in_ledger",
                        entry.id,
                        entry.amount_minor,
                        None,
                        f"{entry.currency} charge {entry.source} is not in the ledger",
                    )
                )
                continue
            seen_charges.add(intent)
            if payment.amount_minor != entry.amount_minor or payment.currency != entry.currency:
                differences.append(
                    _difference(
                        "charge_amount",
                        entry.id,
                        entry.amount_minor,
                        payment.amount_minor,
                        f"{entry.source}: provider {entry.amount_minor} {entry.currency}, "
                        f"ledger {payment.amount_minor} {payment.currency}",
                    )
                )
        elif entry.type in REFUND_TYPES:
            refunds[intent] += -entry.amount_minor
        elif entry.type == "transfer" and entry.source:
            payment = by_transfer.get(entry.source)
            if payment is None:
                differences.append(
                    _difference(
                        "transfer_missing_in_ledger",
                        entry.id,
                        -entry.amount_minor,
                        None,
                        f"transfer {entry.source} is not in the ledger",
                    )
                )
                continue
            seen_transfers.add(entry.source)
            expected = (
                payment.amount_minor
                - payment.platform_fee_minor
                - payment.refunded_minor
                - payment.disputed_minor
            )
            if -entry.amount_minor != expected and payment.refunded_minor == 0:
                differences.append(
                    _difference(
                        "transfer_amount",
                        entry.id,
                        -entry.amount_minor,
                        expected,
                        f"transfer {entry.source}: provider {-entry.amount_minor}, "
                        f"ledger {expected}",
                    )
                )
    for payment in payments:
        if payment.provider_payment_id not in seen_charges:
            differences.append(
                _difference(
                    "payment_missing_at_provider",
                    payment.provider_payment_id,
                    None,
                    payment.amount_minor,
                    f"payment {payment.provider_payment_id} has no charge at the provider",
                )
            )
        if (
            payment.transfer_status is TransferStatus.done
            and payment.transfer_id is not None
            and payment.transfer_id not in seen_transfers
        ):
            differences.append(
                _difference(
                    "transfer_missing_at_provider",
                    payment.transfer_id,
                    None,
                    None,
                    f"transfer {payment.transfer_id} is not in the provider's history",
                )
            )
        refunded = refunds.get(payment.provider_payment_id, 0)
        if refunded != payment.refunded_minor:
            differences.append(
                _difference(
                    "refund_total",
                    payment.provider_payment_id,
                    refunded,
                    payment.refunded_minor,
                    f"refunds of {payment.provider_payment_id}: provider {refunded}, "
                    f"ledger {payment.refunded_minor}",
                )
            )
    return differences


def _difference(
    kind: str, object_id: str, provider: int | None, ledger: int | None, detail: str
) -> dict[str, Any]:
    return {
        "kind": kind,
        "object_id": object_id,
        "provider_minor": provider,
        "ledger_minor": ledger,
        "detail": detail,
    }


async def reconcile(
    platform: PaymentsPlatform, *, since: datetime | None = None
) -> ReconciliationRun:
    database = platform.context.database
    started = utcnow()
    start = since or started - WINDOW
    run = ReconciliationRun(provider=platform.provider, started_at=started)
    connector = platform.payments()
    try:
        async with connector.client:
            entries = [entry async for entry in connector.balance_entries(created_after=start)]
    except Exception as exc:
        async with unit_of_work(database) as session:
            run.error = str(exc)[:500]
            run.finished_at = utcnow()
            ReconciliationRepository(session).add(run)
        raise
    async with unit_of_work(database) as session:
        payments = list(
            (
                await session.execute(
                    select(Payment).where(
                        Payment.provider == platform.provider, Payment.received_at >= start
                    )
                )
            ).scalars()
        )
        # A charge made just before the window's start may have its payment inside it.
        run.differences = compare(entries, payments)
        run.checked = len(entries)
        run.finished_at = utcnow()
        ReconciliationRepository(session).add(run)
        if run.differences:
            await publish(
                session,
                ReconciliationDifferences(
                    provider=platform.provider, differences=len(run.differences)
                ),
                user_id=None,
            )
    return run


async def latest(platform: PaymentsPlatform, limit: int = 10) -> list[ReconciliationRun]:
    async with unit_of_work(platform.context.database) as session:
        return list(await ReconciliationRepository(session).latest(limit))
