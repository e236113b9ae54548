"""Each user's AI spend per month, reserved in the database before a call and settled after.

The monthly budget is a row per user and month (`ai_spend_months`) that every process checks
against with one conditional UPDATE: add this call's most it can cost to `reserved` only if
spent plus reserved stays within the budget. On PostgreSQL the UPDATE locks the row and on
SQLite the database, so two processes cannot both take the last dollar. Each reservation is
also a row with an expiry, so one held by a process that died is released by the user's next
reservation that would otherwise be refused. A reservation commits in its own short
transaction before the provider is called (`grants.Grants` reserves room for several calls at
once, so most calls reserve nothing); each call's settlement (give back what it took, add what
it really cost) is written with its usage row after it, by `usage.UsageWriter`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from gigforge.ai.models import AISpendMonth, AISpendReservation, AIUsage

# A reservation outlives any call (the policy layer times calls out long before); after it, a
# reservation left by a process that died no longer holds the user's budget.
RESERVATION_TTL = timedelta(minutes=15)

# A row for a Core insert, column name to value: far cheaper than an ORM object, on the caller's
# path and again in the writer.
Row = dict[str, Any]


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_of(moment: datetime) -> date:
    return moment.date().replace(day=1)


@dataclass(frozen=True)
class Reservation:
    """What one call may cost, held in the database until it is settled or released."""

    id: uuid.UUID
    user_id: uuid.UUID
    month: date
    amount: int


@dataclass(frozen=True)
class Refusal:
    """The budget had no room: what was spent and what calls under way held at that moment."""

    spent: int
    reserved: int


async def stored_spend(session: AsyncSession, user_id: uuid.UUID, month: datetime) -> int:
    """The sum of the month's usage rows."""
    total = await session.scalar(
        select(func.coalesce(func.sum(AIUsage.cost_micro_usd), 0)).where(
            AIUsage.user_id == user_id, AIUsage.created_at >= month
        )
    )
    return int(total or 0)


async def spent_this_month(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> int:
    """What answered calls cost this month, as the budget counts it."""
    spent = await session.scalar(
        select(AISpendMonth.spent_micro_usd).where(
            AISpendMonth.user_id == user_id, AISpendMonth.month == month_of(now)
        )
    )
    if spent is None:
        return await stored_spend(session, user_id, month_start(now))
    return int(spent)


async def reserve(
    engine: AsyncEngine, user_id: uuid.UUID, *, amount: int, budget: int, now: datetime
) -> Reservation | Refusal:
    """Hold `amount` of the user's monthly `budget`, committed before this returns."""
    month = month_of(now)
    while True:
        try:
            async with engine.begin() as connection:
                outcome = await _try_reserve(connection, user_id, month, amount, budget, now)
        except IntegrityError:
            continue  # another process created the month's row first: reserve against it
        if outcome is not None:
            return outcome


async def settle(
    connection: AsyncConnection, reservation: Reservation, *, cost: int, taken: int | None = None
) -> None:
    """In the caller's transaction, count `cost` as spent and give back `taken` of what the
    reservation holds (all of it when None, which ends the reservation). What a reservation
    released meanwhile as expired held is not given back twice; the cost counts either way."""
    table = AISpendReservation.__table__.c
    if taken is None:
        held = await connection.scalar(
            select(table.amount_micro_usd).where(table.id == reservation.id)
        )
        if held is not None:
            await connection.execute(delete(AISpendReservation).where(table.id == reservation.id))
    else:
        kept = await connection.execute(
            update(AISpendReservation)
            .where(table.id == reservation.id)
            .values(amount_micro_usd=table.amount_micro_usd - taken)
        )
        held = taken if kept.rowcount == 1 else None
        await connection.execute(
            delete(AISpendReservation).where(
                table.id == reservation.id, table.amount_micro_usd <= 0
            )
        )
    await connection.execute(
        update(AISpendMonth)
        .where(AISpendMonth.user_id == reservation.user_id, AISpendMonth.month == reservation.month)
        .values(
            reserved_micro_usd=AISpendMonth.reserved_micro_usd - int(held or 0),
            spent_micro_usd=AISpendMonth.spent_micro_usd + cost,
        )
    )


async def _try_reserve(
    connection: AsyncConnection,
    user_id: uuid.UUID,
    month: date,
    amount: int,
    budget: int,
    now: datetime,
) -> Reservation | Refusal | None:
    """A reservation, a refusal, or None to try again (the month's row was just created)."""
    row = AISpendMonth.__table__.c
    taken = await connection.execute(
        update(AISpendMonth)
        .where(
            row.user_id == user_id,
            row.month == month,
            row.spent_micro_usd + row.reserved_micro_usd + amount <= budget,
        )
        .values(reserved_micro_usd=row.reserved_micro_usd + amount)
    )
    if taken.rowcount == 1:
        reservation = Reservation(uuid.uuid4(), user_id, month, amount)
        await connection.execute(
            insert(AISpendReservation).values(
                id=reservation.id,
                user_id=user_id,
                month=month,
                amount_micro_usd=amount,
                expires_at=now + RESERVATION_TTL,
            )
        )
        return reservation
    current = (
        await connection.execute(
            select(row.spent_micro_usd, row.reserved_micro_usd).where(
                row.user_id == user_id, row.month == month
            )
        )
    ).one_or_none()
    if current is None:
        # The month's first call: its spend so far is what usage rows already hold.
        spent = await connection.scalar(
            select(func.coalesce(func.sum(AIUsage.cost_micro_usd), 0)).where(
                AIUsage.user_id == user_id,
                AIUsage.created_at >= month_start(now),
            )
        )
        await connection.execute(
            insert(AISpendMonth).values(
                user_id=user_id,
                month=month,
                spent_micro_usd=int(spent or 0),
                reserved_micro_usd=0,
            )
        )
        return None
    if await _release_expired(connection, user_id, now):
        return None
    return Refusal(spent=int(current[0]), reserved=int(current[1]))


async def _release_expired(connection: AsyncConnection, user_id: uuid.UUID, now: datetime) -> int:
    """Release the user's reservations whose calls can no longer be under way."""
    expired = (
        await connection.execute(
            select(
                AISpendReservation.id, AISpendReservation.month, AISpendReservation.amount_micro_usd
            ).where(AISpendReservation.user_id == user_id, AISpendReservation.expires_at <= now)
        )
    ).all()
    for reservation_id, month, amount in expired:
        await settle(connection, Reservation(reservation_id, user_id, month, amount), cost=0)
    return len(expired)
