"""Retainers: the same invoice issued every week, month or year on a schedule.

The schedule (`payments.issue_retainers`, every 15 minutes under the leader lease) issues an
invoice for each retainer whose time has come and moves its next run one period on, in the
same transaction, so a run repeated after a crash issues nothing twice. Each invoice is sent
through the provider like any other (hosted page, SCA); Gigforge keeps the schedule so every
provider, and bank transfers, get retainers the same way.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.payments.errors import InvalidInvoice, InvoiceNotFound
from gigforge.payments.invoices import LineInput, Owner, invoices
from gigforge.payments.models import PaymentMethod, Retainer
from gigforge.payments.repository import RetainerRepository

ISSUE_TASK = "payments.issue_retainers"
INTERVALS = ("week", "month", "year")


def advance(moment: datetime, interval: str, count: int) -> datetime:
    """`moment` moved on by `count` intervals; a month keeps its day, or the month's last."""
    if interval == "week":
        return moment + timedelta(weeks=count)
    months = count * (12 if interval == "year" else 1)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


async def create(
    session: AsyncSession,
    principal: Principal,
    *,
    client_name: str,
    client_email: str | None,
    description: str,
    currency: str,
    amount_minor: int,
    tax_rate_bps: int,
    interval: str,
    interval_count: int,
    starts_at: datetime | None,
    job_id: uuid.UUID | None = None,
    method: PaymentMethod = PaymentMethod.stripe,
) -> Retainer:
    if interval not in INTERVALS:
        raise InvalidInvoice(f"A retainer repeats every week, month or year, not {interval!r}")
    if not 1 <= interval_count <= 12:
        raise InvalidInvoice("A retainer repeats every 1 to 12 periods")
    if amount_minor <= 0:
        raise InvalidInvoice("A retainer's amount must be more than zero")
    if not client_name.strip() or not description.strip():
        raise InvalidInvoice("Name the client and describe the work")
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidInvoice(f"{currency!r} is not a three-letter currency code")
    retainer = Retainer(
        id=uuid.uuid4(),
        user_id=principal.user_id,
        job_id=job_id,
        client_name=client_name.strip()[:200],
        client_email=(client_email or None) and client_email.strip()[:320],
        description=description.strip()[:500],
        currency=code,
        amount_minor=amount_minor,
        tax_rate_bps=tax_rate_bps,
        interval=interval,
        interval_count=interval_count,
        method=method,
        next_run_at=starts_at or utcnow(),
        active=True,
    )
    session.add(retainer)
    await session.flush()
    await audit_service.record(
        session,
        principal.actor,
        action="retainer.created",
        target_type="retainer",
        target_id=retainer.id,
        user_id=principal.user_id,
    )
    return retainer


async def stop(session: AsyncSession, principal: Principal, retainer_id: uuid.UUID) -> Retainer:
    retainer = await RetainerRepository(session).get_owned(principal.user_id, retainer_id)
    if retainer is None:
        raise InvoiceNotFound("No such retainer")
    retainer.active = False
    await session.flush()
    return retainer


async def listed(session: AsyncSession, principal: Principal) -> Sequence[Retainer]:
    return await RetainerRepository(session).of(principal.user_id)


async def issue_due(database: Database, *, now: datetime | None = None) -> int:
    """Issue every retainer invoice that is due; returns how many."""
    moment = now or utcnow()
    issued = 0
    async with unit_of_work(database) as session:
        for retainer in await RetainerRepository(session).due(moment):
            # Catch up one period at a time, so a server that was off still bills each one.
            while retainer.next_run_at <= moment and retainer.active:
                period = retainer.next_run_at
                invoice = await invoices.create(
                    session,
                    Owner(retainer.user_id),
                    client_name=retainer.client_name,
                    client_email=retainer.client_email,
                    currency=retainer.currency,
                    lines=[
                        LineInput(
                            f"{retainer.description} ({period:%Y-%m-%d})"[:500],
                            1,
                            retainer.amount_minor,
                            retainer.tax_rate_bps,
                        )
                    ],
                    job_id=retainer.job_id,
                    milestone=f"{period:%Y-%m-%d}",
                    method=retainer.method,
                )
                invoice.retainer_id = retainer.id
                await invoices.issue(session, Owner(retainer.user_id), invoice.id)
                retainer.issued_count += 1
                retainer.next_run_at = advance(period, retainer.interval, retainer.interval_count)
                issued += 1
    return issued
