"""Room in users' monthly AI budgets that this process reserved ahead, for its next calls.

A reservation costs a committed write, more than everything else the router does for a call.
So the router reserves room for several calls at once (a grant: up to GRANT_CALLS times the
call's most possible cost, and at most 1/GRANT_BUDGET_SHARE of the budget), takes each call's
share from it in memory, and reserves again only when the grant runs out, is older than
GRANT_SECONDS, or was made under another budget. The grant is an ordinary reservation row, so
the database still never lets all processes together hold more than the budget: a grant only
means another process may be refused a little early near the cap, by at most what this
process's grant has left. Near the cap, where a whole grant no longer fits, the reservation is
exactly the call's. What a call took is settled with its usage row; what a grant has left when
it is retired is given back by the same writer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from gigforge.ai import spend
from gigforge.ai.spend import Refusal, Reservation
from gigforge.ai.usage import UsageWriter

GRANT_CALLS = 16
GRANT_BUDGET_SHARE = 20
# Far inside spend.RESERVATION_TTL, so a call taken from a grant finishes long before the
# grant's row could expire.
GRANT_SECONDS = 60.0


@dataclass(frozen=True)
class Taken:
    """What one call took from a reservation."""

    reservation: Reservation
    amount: int


@dataclass
class _Grant:
    reservation: Reservation
    budget: int
    left: int
    until: float  # time.monotonic()


class Grants:
    def __init__(self, engine: AsyncEngine, writer: UsageWriter) -> None:
        self._engine = engine
        self._writer = writer
        self._grants: dict[tuple[uuid.UUID, date], _Grant] = {}

    async def take(
        self, user_id: uuid.UUID, amount: int, *, budget: int, now: datetime
    ) -> Taken | Refusal:
        """Room for a call that may cost `amount`, from this process's grant or a new one."""
        key = (user_id, spend.month_of(now))
        grant = self._grants.get(key)
        clock = time.monotonic()
        if grant is not None:
            if grant.budget == budget and clock < grant.until and grant.left >= amount:
                grant.left -= amount
                return Taken(grant.reservation, amount)
            self._retire(key)
        size = max(amount, min(amount * GRANT_CALLS, budget // GRANT_BUDGET_SHARE))
        outcome = await spend.reserve(self._engine, user_id, amount=size, budget=budget, now=now)
        if isinstance(outcome, Refusal) and size > amount:
            outcome = await spend.reserve(
                self._engine, user_id, amount=amount, budget=budget, now=now
            )
        if isinstance(outcome, Refusal):
            return outcome
        self._grants[key] = _Grant(outcome, budget, outcome.amount - amount, clock + GRANT_SECONDS)
        return Taken(outcome, amount)

    def give_back(self, taken: Taken) -> None:
        """A call that cost nothing (no model answered) returns what it took."""
        key = (taken.reservation.user_id, taken.reservation.month)
        grant = self._grants.get(key)
        if grant is not None and grant.reservation.id == taken.reservation.id:
            grant.left += taken.amount
        else:
            self._writer.give_back(taken.reservation, taken.amount)

    def retire_all(self) -> None:
        """Give back what every grant has left: for the process's shutdown."""
        for key in list(self._grants):
            self._retire(key)

    def _retire(self, key: tuple[uuid.UUID, date]) -> None:
        grant = self._grants.pop(key)
        if grant.left:
            self._writer.give_back(grant.reservation, grant.left)
