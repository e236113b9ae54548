"""Every query of the payments domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.kit.db import dialect_insert
from gigforge.kit.repository import Repository
from gigforge.payments.models import (
    BankAccount,
    EventStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceSeries,
    InvoiceStatus,
    Payment,
    PaymentSettings,
    Payout,
    PayoutAccount,
    PayoutStatus,
    ProviderEvent,
    ReconciliationRun,
    Retainer,
    TransferStatus,
)


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    def listed(
        self,
        user_id: uuid.UUID,
        *,
        statuses: Sequence[InvoiceStatus] = (),
        job_id: uuid.UUID | None = None,
    ) -> Select[Invoice]:
        statement = self.scoped(user_id)
        if statuses:
            statement = statement.where(Invoice.status.in_(statuses))
        if job_id is not None:
            statement = statement.where(Invoice.job_id == job_id)
        return statement.order_by(Invoice.created_at.desc(), Invoice.id.desc())

    async def locked(self, invoice_id: uuid.UUID) -> Invoice | None:
        return await self.session.get(
            Invoice, invoice_id, with_for_update=True, populate_existing=True
        )

    async def by_provider_invoice(self, provider_invoice_id: str) -> Invoice | None:
        return await self.get_one(
            self.statement().where(Invoice.provider_invoice_id == provider_invoice_id)
        )

    async def lines(self, invoice_id: uuid.UUID) -> Sequence[InvoiceLine]:
        result = await self.session.execute(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice_id)
            .order_by(InvoiceLine.position)
        )
        return result.scalars().all()

    async def lines_of(self, invoice_ids: Sequence[uuid.UUID]) -> Sequence[InvoiceLine]:
        if not invoice_ids:
            return ()
        result = await self.session.execute(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(invoice_ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        )
        return result.scalars().all()

    async def credit_notes(self, invoice_id: uuid.UUID) -> Sequence[Invoice]:
        return await self.all(
            self.statement().where(Invoice.corrects_id == invoice_id).order_by(Invoice.created_at)
        )

    async def next_number(self, user_id: uuid.UUID, kind: InvoiceKind) -> int:
        """Take the next number of the user's series for `kind`, under the series row's lock:
        two invoices issued at once never share a number, and a rolled-back issue gives its
        number back."""
        await self.session.execute(
            dialect_insert(self.session, InvoiceSeries)
            .values(user_id=user_id, kind=kind.value, next_number=1)
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(
            update(InvoiceSeries)
            .where(InvoiceSeries.user_id == user_id, InvoiceSeries.kind == kind)
            .values(next_number=InvoiceSeries.next_number + 1)
            .returning(InvoiceSeries.next_number)
        )
        return int(result.scalar_one()) - 1


class PaymentRepository(Repository[Payment]):
    model = Payment

    async def insert(self, values: dict[str, object]) -> bool:
        """Insert unless the provider's payment is already recorded."""
        result = await self.session.execute(
            dialect_insert(self.session, Payment)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["provider", "provider_payment_id"])
            .returning(Payment.id)
        )
        return result.first() is not None

    async def by_provider_id(self, provider: str, payment_id: str) -> Payment | None:
        return await self.get_one(
            self.statement().where(
                Payment.provider == provider, Payment.provider_payment_id == payment_id
            )
        )

    async def locked(self, payment_id: uuid.UUID) -> Payment | None:
        return await self.session.get(
            Payment, payment_id, with_for_update=True, populate_existing=True
        )

    async def for_invoice(self, invoice_id: uuid.UUID) -> Sequence[Payment]:
        return await self.all(self.statement().where(Payment.invoice_id == invoice_id))

    async def waiting_for_job(self, job_id: uuid.UUID) -> Sequence[Payment]:
        return await self.all(
            self.statement().where(
                Payment.job_id == job_id, Payment.transfer_status == TransferStatus.waiting
            )
        )

    async def due_for_user(self, user_id: uuid.UUID) -> Sequence[Payment]:
        return await self.all(
            self.scoped(user_id).where(Payment.transfer_status == TransferStatus.due)
        )

    async def transfers_due(self, now: datetime, limit: int = 100) -> Sequence[Payment]:
        """Transfers to make: due, or left `sending` by a run whose lease ran out."""
        return await self.all(
            self.statement()
            .where(
                (Payment.transfer_status == TransferStatus.due)
                | (
                    (Payment.transfer_status == TransferStatus.sending)
                    & (Payment.lease_until < now)
                )
            )
            .order_by(Payment.received_at)
            .limit(limit)
        )

    async def for_user(self, user_id: uuid.UUID, limit: int = 50) -> Sequence[Payment]:
        return await self.all(
            self.scoped(user_id).order_by(Payment.received_at.desc()).limit(limit)
        )


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, values: dict[str, object]) -> bool:
        """Keep the event unless it was seen before; False for a redelivery."""
        result = await self.session.execute(
            dialect_insert(self.session, ProviderEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(ProviderEvent.id)
        )
        return result.first() is not None

    async def get(self, provider: str, event_id: str) -> ProviderEvent | None:
        result = await self.session.execute(
            select(ProviderEvent).where(
                ProviderEvent.provider == provider, ProviderEvent.event_id == event_id
            )
        )
        return result.scalars().first()

    async def deferred(self, limit: int = 200) -> Sequence[ProviderEvent]:
        result = await self.session.execute(
            select(ProviderEvent)
            .where(ProviderEvent.status == EventStatus.deferred)
            .order_by(ProviderEvent.received_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return result.scalars().all()

    async def recent(self, limit: int = 50) -> Sequence[ProviderEvent]:
        result = await self.session.execute(
            select(ProviderEvent).order_by(ProviderEvent.received_at.desc()).limit(limit)
        )
        return result.scalars().all()

    async def latest_received(self, provider: str) -> datetime | None:
        result = await self.session.execute(
            select(func.max(ProviderEvent.received_at)).where(ProviderEvent.provider == provider)
        )
        return result.scalar_one_or_none()


class PayoutAccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, user_id: uuid.UUID) -> PayoutAccount | None:
        return await self.session.get(PayoutAccount, user_id)

    async def by_account(self, account_id: str) -> PayoutAccount | None:
        result = await self.session.execute(
            select(PayoutAccount).where(PayoutAccount.account_id == account_id)
        )
        return result.scalars().first()

    def add(self, account: PayoutAccount) -> None:
        self.session.add(account)


class BankAccountRepository(Repository[BankAccount]):
    model = BankAccount

    async def of(self, user_id: uuid.UUID) -> Sequence[BankAccount]:
        return await self.all(self.scoped(user_id).order_by(BankAccount.created_at))

    async def by_provider_id(self, user_id: uuid.UUID, provider_id: str) -> BankAccount | None:
        return await self.get_one(
            self.scoped(user_id).where(BankAccount.provider_bank_id == provider_id)
        )


class PayoutRepository(Repository[Payout]):
    model = Payout

    def listed(self, user_id: uuid.UUID) -> Select[Payout]:
        return self.scoped(user_id).order_by(Payout.created_at.desc(), Payout.id.desc())

    async def locked(self, payout_id: uuid.UUID) -> Payout | None:
        return await self.session.get(
            Payout, payout_id, with_for_update=True, populate_existing=True
        )

    async def by_provider_id(self, provider_payout_id: str) -> Payout | None:
        return await self.get_one(
            self.statement().where(Payout.provider_payout_id == provider_payout_id)
        )

    async def due(self, now: datetime, limit: int = 100) -> Sequence[Payout]:
        """Approved payouts, and ones left `sending` by a run whose lease ran out."""
        return await self.all(
            self.statement()
            .where(
                (Payout.status == PayoutStatus.approved)
                | ((Payout.status == PayoutStatus.sending) & (Payout.lease_until < now))
            )
            .order_by(Payout.created_at)
            .limit(limit)
        )

    async def auto_approved_since(self, user_id: uuid.UUID, currency: str, since: datetime) -> int:
        result = await self.session.execute(
            select(func.coalesce(func.sum(Payout.amount_minor), 0)).where(
                Payout.user_id == user_id,
                Payout.currency == currency,
                Payout.auto_approved.is_(True),
                Payout.created_at >= since,
            )
        )
        return int(result.scalar_one())

    async def in_transit(self, limit: int = 100) -> Sequence[Payout]:
        return await self.all(
            self.statement()
            .where(Payout.status == PayoutStatus.in_transit)
            .order_by(Payout.created_at)
            .limit(limit)
        )


class SettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, user_id: uuid.UUID) -> PaymentSettings | None:
        return await self.session.get(PaymentSettings, user_id)

    def add(self, settings: PaymentSettings) -> None:
        self.session.add(settings)


class RetainerRepository(Repository[Retainer]):
    model = Retainer

    async def due(self, now: datetime, limit: int = 100) -> Sequence[Retainer]:
        return await self.all(
            self.statement()
            .where(Retainer.active.is_(True), Retainer.next_run_at <= now)
            .order_by(Retainer.next_run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    async def of(self, user_id: uuid.UUID) -> Sequence[Retainer]:
        return await self.all(self.scoped(user_id).order_by(Retainer.created_at.desc()))


class ReconciliationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, run: ReconciliationRun) -> None:
        self.session.add(run)

    async def latest(self, limit: int = 10) -> Sequence[ReconciliationRun]:
        result = await self.session.execute(
            select(ReconciliationRun).order_by(ReconciliationRun.started_at.desc()).limit(limit)
        )
        return result.scalars().all()
