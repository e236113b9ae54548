"""Invoices: drafted from a job (or by hand), issued once with a number from the user's
series, paid through the provider's hosted page or marked paid by hand, corrected only by
credit notes.

An issued invoice never changes again apart from its payment state: its lines, totals,
currency, exchange-rate snapshot and number are fixed at issue. A credit note is an invoice of
kind `credit_note` that points at the one it corrects; crediting an unpaid invoice in full
voids it (and its page at the provider), crediting a paid one refunds the client through the
provider. Sending to the provider is a task (`payments.send_invoice`), run after the commit
with no transaction open. The service never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.users_service import users as user_service
from gigforge.audit.service import audit as audit_service
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus
from gigforge.kit.actor import SYSTEM, Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.money import MAX_MINOR_UNITS
from gigforge.kit.outbox import publish
from gigforge.kit.pagination import PageParams
from gigforge.kit.tasks import enqueue
from gigforge.payments.errors import (
    InvalidInvoice,
    InvalidInvoiceState,
    InvoiceNotEditable,
    InvoiceNotFound,
)
from gigforge.payments.events import InvoiceIssued
from gigforge.payments.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    PaymentMethod,
)
from gigforge.payments.rates import convert, rate_for
from gigforge.payments.repository import InvoiceRepository, SettingsRepository

SEND_TASK = "payments.send_invoice"
VOID_TASK = "payments.void_invoice"
REFUND_TASK = "payments.refund_credit_note"
MAX_LINES = 100
PREFIX = {InvoiceKind.invoice: "INV", InvoiceKind.credit_note: "CN"}


class Acting(Protocol):
    """Who acts on an invoice: a signed-in principal, or the system for its owner."""

    @property
    def user_id(self) -> uuid.UUID: ...

    @property
    def actor(self) -> Actor: ...


@dataclass(frozen=True)
class Owner:
    """The system acting for an invoice's owner (a retainer's scheduled invoice)."""

    user_id: uuid.UUID
    actor: Actor = SYSTEM


@dataclass(frozen=True)
class LineInput:
    description: str
    quantity: int
    unit_amount_minor: int
    tax_rate_bps: int = 0


def line_amounts(line: LineInput) -> tuple[int, int]:
    """(amount before tax, tax), the tax rounded half up to the minor unit per line."""
    amount = line.quantity * line.unit_amount_minor
    tax = int(
        (Decimal(amount) * Decimal(line.tax_rate_bps) / Decimal(10_000)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )
    return amount, tax


def _check_lines(lines: Sequence[LineInput]) -> None:
    if not lines:
        raise InvalidInvoice("An invoice needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidInvoice(f"An invoice has at most {MAX_LINES} lines")
    total = 0
    for number, line in enumerate(lines, start=1):
        if not line.description.strip():
            raise InvalidInvoice(f"Line {number} needs a description")
        if not 1 <= line.quantity <= 1_000_000:
            raise InvalidInvoice(f"Line {number}: the quantity is 1 to 1,000,000")
        if line.unit_amount_minor < 0:
            raise InvalidInvoice(f"Line {number}: the unit price cannot be negative")
        if not 0 <= line.tax_rate_bps <= 10_000:
            raise InvalidInvoice(f"Line {number}: the tax rate is 0 % to 100 %")
        amount, tax = line_amounts(line)
        total += amount + tax
    if total <= 0:
        raise InvalidInvoice("The invoice's total must be more than zero")
    if total > MAX_MINOR_UNITS // 1000:
        raise InvalidInvoice("The invoice's total is too large")


def _currency(code: str) -> str:
    value = code.strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise InvalidInvoice(f"{code!r} is not a three-letter ISO 4217 currency code")
    return value


class InvoiceService:
    async def home_currency(self, session: AsyncSession, user_id: uuid.UUID) -> str:
        settings = await SettingsRepository(session).of(user_id)
        if settings is not None:
            return settings.home_currency
        return await user_service.currency_of(session, user_id)

    async def create(
        self,
        session: AsyncSession,
        principal: Acting,
        *,
        client_name: str,
        client_email: str | None,
        currency: str,
        lines: Sequence[LineInput],
        job_id: uuid.UUID | None = None,
        milestone: str | None = None,
        memo: str = "",
        days_until_due: int = 14,
        method: PaymentMethod = PaymentMethod.stripe,
    ) -> Invoice:
        """A draft: editable until issued."""
        _check_lines(lines)
        if not client_name.strip():
            raise InvalidInvoice("Name the client the invoice is for")
        if not 0 <= days_until_due <= 365:
            raise InvalidInvoice("Payment is due in 0 to 365 days")
        if job_id is not None:
            job = await job_service.find(session, job_id)
            if job is None or job.user_id != principal.user_id:
                raise InvalidInvoice("No such job")
        invoice = Invoice(
            id=uuid.uuid4(),
            user_id=principal.user_id,
            kind=InvoiceKind.invoice,
            job_id=job_id,
            milestone=(milestone or None) and milestone[:200],
            status=InvoiceStatus.draft,
            client_name=client_name.strip()[:200],
            client_email=(client_email or None) and client_email.strip()[:320],
            memo=memo[:5000],
            currency=_currency(currency),
            home_currency=await self.home_currency(session, principal.user_id),
            days_until_due=days_until_due,
            method=method,
        )
        session.add(invoice)
        await session.flush()
        await self._replace_lines(session, invoice, lines)
        await audit_service.record(
            session,
            principal.actor,
            action="invoice.drafted",
            target_type="invoice",
            target_id=invoice.id,
            user_id=principal.user_id,
        )
        return invoice

    async def from_job(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        job_id: uuid.UUID,
        milestone: str | None = None,
        amount_minor: int | None = None,
        tax_rate_bps: int = 0,
        method: PaymentMethod = PaymentMethod.stripe,
        client_email: str | None = None,
    ) -> Invoice:
        """A draft for a job: one line, the job's title at its budget (or `amount_minor` for a
        milestone). A cancelled job is not invoiced."""
        job = await job_service.get(session, principal, job_id=job_id)
        if job.status is JobStatus.cancelled:
            raise InvalidInvoiceState("A cancelled job is not invoiced")
        amount = amount_minor if amount_minor is not None else job.budget_minor
        if not amount:
            raise InvalidInvoice(
                "The job has no budget to invoice; give the amount (or write the lines yourself)"
            )
        description = f"{job.title}" + (f" — {milestone}" if milestone else "")
        return await self.create(
            session,
            principal,
            client_name=job.client_name or f"{job.platform} client",
            client_email=client_email,
            currency=job.currency or await self.home_currency(session, principal.user_id),
            lines=[LineInput(description[:500], 1, amount, tax_rate_bps)],
            job_id=job.id,
            milestone=milestone,
            method=method,
        )

    async def update_draft(
        self,
        session: AsyncSession,
        principal: Principal,
        invoice_id: uuid.UUID,
        *,
        lines: Sequence[LineInput] | None = None,
        client_name: str | None = None,
        client_email: str | None = None,
        memo: str | None = None,
        days_until_due: int | None = None,
        method: PaymentMethod | None = None,
    ) -> Invoice:
        invoice = await self._locked(session, principal, invoice_id)
        if invoice.status is not InvoiceStatus.draft:
            raise InvoiceNotEditable()
        if lines is not None:
            _check_lines(lines)
            await self._replace_lines(session, invoice, lines)
        if client_name is not None:
            if not client_name.strip():
                raise InvalidInvoice("Name the client the invoice is for")
            invoice.client_name = client_name.strip()[:200]
        if client_email is not None:
            invoice.client_email = client_email.strip()[:320] or None
        if memo is not None:
            invoice.memo = memo[:5000]
        if days_until_due is not None:
            if not 0 <= days_until_due <= 365:
                raise InvalidInvoice("Payment is due in 0 to 365 days")
            invoice.days_until_due = days_until_due
        if method is not None:
            invoice.method = method
        await session.flush()
        return invoice

    async def delete_draft(
        self, session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
    ) -> None:
        invoice = await self._locked(session, principal, invoice_id)
        if invoice.status is not InvoiceStatus.draft:
            raise InvoiceNotEditable("An issued invoice is never deleted; issue a credit note")
        await session.delete(invoice)
        await session.flush()

    async def issue(
        self,
        session: AsyncSession,
        principal: Acting,
        invoice_id: uuid.UUID,
        *,
        exchange_rate: Decimal | None = None,
        send: bool = True,
    ) -> Invoice:
        """Number the invoice, fix its totals and exchange rate, and (for the provider's
        page) queue it to be created there; from here on it never changes."""
        invoice = await self._locked(session, principal, invoice_id)
        if invoice.status is not InvoiceStatus.draft:
            raise InvalidInvoiceState("Only a draft is issued")
        await self._finalize(session, invoice, exchange_rate)
        await publish(
            session,
            InvoiceIssued(
                invoice_id=invoice.id,
                number=invoice.number or "",
                kind=invoice.kind.value,
                job_id=invoice.job_id,
                currency=invoice.currency,
                total_minor=invoice.total_minor,
            ),
            user_id=invoice.user_id,
        )
        await audit_service.record(
            session,
            principal.actor,
            action="invoice.issued",
            target_type="invoice",
            target_id=invoice.id,
            user_id=principal.user_id,
            data={"number": invoice.number},
        )
        if invoice.method is PaymentMethod.stripe:
            await enqueue(
                session,
                SEND_TASK,
                invoice_id=str(invoice.id),
                send=send,
                dedupe_key=f"{SEND_TASK}:{invoice.id}",
            )
        await session.flush()
        return invoice

    async def credit(
        self,
        session: AsyncSession,
        principal: Principal,
        invoice_id: uuid.UUID,
        *,
        reason: str,
        amount_minor: int | None = None,
    ) -> Invoice:
        """Issue a credit note against an issued or paid invoice, for its remaining total or
        for `amount_minor`. A full credit of an unpaid invoice voids it; a credit of a paid
        one refunds the client through the provider."""
        invoice = await self._locked(session, principal, invoice_id)
        if invoice.kind is not InvoiceKind.invoice or invoice.status not in (
            InvoiceStatus.issued,
            InvoiceStatus.paid,
        ):
            raise InvalidInvoiceState("Only an issued or paid invoice takes a credit note")
        repository = InvoiceRepository(session)
        credited = sum(note.total_minor for note in await repository.credit_notes(invoice.id))
        remaining = invoice.total_minor - credited
        amount = remaining if amount_minor is None else amount_minor
        if not 0 < amount <= remaining:
            raise InvalidInvoice(
                f"A credit note here is for more than zero and at most what is left to credit "
                f"({remaining} minor units)"
            )
        if not reason.strip():
            raise InvalidInvoice("Say why the invoice is corrected")
        note = Invoice(
            id=uuid.uuid4(),
            user_id=invoice.user_id,
            kind=InvoiceKind.credit_note,
            job_id=invoice.job_id,
            corrects_id=invoice.id,
            status=InvoiceStatus.draft,
            client_name=invoice.client_name,
            client_email=invoice.client_email,
            memo=reason.strip()[:5000],
            currency=invoice.currency,
            home_currency=invoice.home_currency,
            days_until_due=0,
            method=invoice.method,
        )
        session.add(note)
        await session.flush()
        await self._replace_lines(
            session, note, [LineInput(f"Correction of {invoice.number}: {reason}"[:500], 1, amount)]
        )
        await self._finalize(session, note, invoice.exchange_rate, source=invoice.rate_source)
        paid = invoice.status is InvoiceStatus.paid
        if not paid and amount == remaining:
            invoice.status = InvoiceStatus.void
            invoice.voided_at = utcnow()
            if invoice.provider_invoice_id is not None or invoice.method is PaymentMethod.stripe:
                await enqueue(session, VOID_TASK, invoice_id=str(invoice.id))
        if paid and invoice.method is PaymentMethod.stripe:
            await enqueue(
                session,
                REFUND_TASK,
                credit_note_id=str(note.id),
                dedupe_key=f"{REFUND_TASK}:{note.id}",
            )
        await publish(
            session,
            InvoiceIssued(
                invoice_id=note.id,
                number=note.number or "",
                kind=note.kind.value,
                job_id=note.job_id,
                currency=note.currency,
                total_minor=note.total_minor,
            ),
            user_id=note.user_id,
        )
        await audit_service.record(
            session,
            principal.actor,
            action="invoice.credited",
            target_type="invoice",
            target_id=invoice.id,
            user_id=principal.user_id,
            data={"credit_note": note.number, "amount_minor": amount},
        )
        await session.flush()
        return note

    async def mark_paid(
        self, session: AsyncSession, principal: Acting, invoice_id: uuid.UUID, *, reference: str
    ) -> Invoice:
        """The client paid an issued invoice by bank transfer (`reference`: as on the
        statement); the money went straight to the user's bank, so the ledger records it as
        earned and already paid out."""
        from gigforge.payments.collecting import mark_paid_by_hand

        invoice = await self._locked(session, principal, invoice_id)
        if invoice.kind is not InvoiceKind.invoice or invoice.status is not InvoiceStatus.issued:
            raise InvalidInvoiceState("Only an issued, unpaid invoice is marked paid")
        if not reference.strip():
            raise InvalidInvoice("Give the bank transfer's reference")
        await mark_paid_by_hand(session, invoice, reference=reference.strip())
        await audit_service.record(
            session,
            principal.actor,
            action="invoice.marked_paid",
            target_type="invoice",
            target_id=invoice.id,
            user_id=principal.user_id,
            data={"reference": reference.strip()[:80]},
        )
        return invoice

    async def get(
        self, session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
    ) -> Invoice:
        invoice = await InvoiceRepository(session).get_owned(principal.user_id, invoice_id)
        if invoice is None:
            raise InvoiceNotFound()
        return invoice

    async def find(self, session: AsyncSession, invoice_id: uuid.UUID) -> Invoice | None:
        """Any user's invoice, for background work."""
        return await InvoiceRepository(session).get(invoice_id)

    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        page: PageParams,
        *,
        statuses: Sequence[InvoiceStatus] = (),
        job_id: uuid.UUID | None = None,
    ) -> tuple[Sequence[Invoice], int]:
        repository = InvoiceRepository(session)
        return await repository.paginate(
            repository.listed(principal.user_id, statuses=statuses, job_id=job_id), page
        )

    async def lines(self, session: AsyncSession, invoice: Invoice) -> Sequence[InvoiceLine]:
        return await InvoiceRepository(session).lines(invoice.id)

    async def credit_notes(self, session: AsyncSession, invoice: Invoice) -> Sequence[Invoice]:
        return await InvoiceRepository(session).credit_notes(invoice.id)

    async def _finalize(
        self,
        session: AsyncSession,
        invoice: Invoice,
        exchange_rate: Decimal | None,
        *,
        source: str | None = None,
    ) -> None:
        lines = await InvoiceRepository(session).lines(invoice.id)
        subtotal = sum(line.amount_minor for line in lines)
        tax = sum(line.tax_minor for line in lines)
        rate, rate_source = await self._rate(session, invoice, exchange_rate, source)
        number = await InvoiceRepository(session).next_number(invoice.user_id, invoice.kind)
        now = utcnow()
        invoice.number = f"{PREFIX[invoice.kind]}-{number:06d}"
        invoice.subtotal_minor = subtotal
        invoice.tax_minor = tax
        invoice.total_minor = subtotal + tax
        invoice.exchange_rate = rate
        invoice.rate_source = rate_source
        invoice.home_total_minor = convert(
            invoice.total_minor, invoice.currency, invoice.home_currency, rate
        )
        invoice.status = InvoiceStatus.issued
        invoice.issued_at = now
        invoice.due_at = now + timedelta(days=invoice.days_until_due)

    async def _rate(
        self,
        session: AsyncSession,
        invoice: Invoice,
        given: Decimal | None,
        source: str | None,
    ) -> tuple[Decimal, str | None]:
        if invoice.currency == invoice.home_currency:
            return Decimal(1), None
        if given is not None:
            if not given.is_finite() or given <= 0:
                raise InvalidInvoice("The exchange rate must be a positive number")
            return given, source or "entered by the user"
        found = await rate_for(session, invoice.currency, invoice.home_currency)
        if found is None:
            raise InvalidInvoice(
                f"No exchange rate for {invoice.currency} to {invoice.home_currency} is on "
                "record yet; enter the rate to use (home currency per invoice currency unit), "
                "or refresh the rates (`gigforge payments rates --refresh`)"
            )
        return found

    async def _replace_lines(
        self, session: AsyncSession, invoice: Invoice, lines: Sequence[LineInput]
    ) -> None:
        for old in await InvoiceRepository(session).lines(invoice.id):
            await session.delete(old)
        await session.flush()
        for position, line in enumerate(lines, start=1):
            amount, tax = line_amounts(line)
            session.add(
                InvoiceLine(
                    invoice_id=invoice.id,
                    position=position,
                    description=line.description.strip()[:500],
                    quantity=line.quantity,
                    unit_amount_minor=line.unit_amount_minor,
                    tax_rate_bps=line.tax_rate_bps,
                    tax_minor=tax,
                    amount_minor=amount,
                )
            )
        await session.flush()

    async def lock(
        self, session: AsyncSession, principal: Acting, invoice_id: uuid.UUID
    ) -> Invoice:
        """The user's invoice, its row locked until the transaction ends."""
        return await self._locked(session, principal, invoice_id)

    async def _locked(
        self, session: AsyncSession, principal: Acting, invoice_id: uuid.UUID
    ) -> Invoice:
        invoice = await InvoiceRepository(session).locked(invoice_id)
        if invoice is None or invoice.user_id != principal.user_id:
            raise InvoiceNotFound()
        return invoice


invoices = InvoiceService()
