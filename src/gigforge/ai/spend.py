"""Each user's AI spend this month, as this process knows it: a budget check without a query."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.ai.models import AIUsage

# How long this process trusts what it read about a user (connections, spend, cached answers)
# before reading again: the longest it may miss what another process changed.
REFRESH_SECONDS = 5.0

# A row for a Core insert, column name to value: far cheaper than an ORM object, on the caller's
# path and again in the writer.
Row = dict[str, Any]


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def stored_spend(session: AsyncSession, user_id: uuid.UUID, month: datetime) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(AIUsage.cost_micro_usd), 0)).where(
            AIUsage.user_id == user_id, AIUsage.created_at >= month
        )
    )
    return int(total or 0)


@dataclass
class _Spend:
    stored: int = 0
    unflushed: int = 0
    reserved: int = 0
    read_at: float = -math.inf  # time.monotonic() of the last read; never read yet

    @property
    def total(self) -> int:
        return self.stored + self.unflushed + self.reserved


class SpendLedger:
    """Each user's spend per month as this process knows it, so a budget check costs no query.

    `stored` is the database's sum at the last read plus what this process wrote since,
    `unflushed` what it recorded that the writer has not written yet, `reserved` the dearest
    estimate of each call under way. Checks use their sum, so neither a deferred write nor a
    concurrent call of the same user is missing from one. Other processes' rows are seen at the
    next read: REFRESH_SECONDS after the last one, or at once when the user is near the cap,
    where every call reads (and `Router` writes its usage before returning), so the hard cap is
    exact where it bites. A read racing this process's own writer can only count a row twice:
    over-counting refuses a little early, it never lets through a call the database would refuse.
    A new month is a new entry, read from the database; past months are forgotten once settled.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[uuid.UUID, datetime], _Spend] = {}
        self._month: datetime | None = None

    async def check(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        month: datetime,
        *,
        budget: int,
        margin: int,
    ) -> tuple[int, bool]:
        """(spent, near the cap), read from the database when stale or near the cap."""
        entry = self._entry(user_id, month)
        near = budget - entry.total <= margin
        if near or time.monotonic() - entry.read_at >= REFRESH_SECONDS:
            before = entry.stored
            stored = await stored_spend(session, user_id, month)
            # Rows this process wrote while the query ran may or may not be in its sum: count
            # them (again), never miss them.
            entry.stored = stored + entry.stored - before
            entry.read_at = time.monotonic()
            near = budget - entry.total <= margin
        return entry.total, near

    @contextmanager
    def reserve(self, user_id: uuid.UUID, month: datetime, amount: int) -> Iterator[None]:
        entry = self._entry(user_id, month)
        entry.reserved += amount
        try:
            yield
        finally:
            entry.reserved -= amount

    def recorded(self, usage: Row) -> None:
        entry = self._entry(usage["user_id"], month_start(usage["created_at"]))
        entry.unflushed += usage["cost_micro_usd"]

    def settled(self, usage: Row) -> None:
        """The writer is done with the row (written, or dropped with its deleted user)."""
        entry = self._entry(usage["user_id"], month_start(usage["created_at"]))
        entry.unflushed -= usage["cost_micro_usd"]
        entry.stored += usage["cost_micro_usd"]

    def unflushed(self, user_id: uuid.UUID, month: datetime) -> int:
        entry = self._entries.get((user_id, month))
        return entry.unflushed if entry is not None else 0

    def _entry(self, user_id: uuid.UUID, month: datetime) -> _Spend:
        if self._month is None or month > self._month:
            self._month = month
            self._entries = {
                key: entry
                for key, entry in self._entries.items()
                if key[1] >= month or entry.unflushed or entry.reserved
            }
        return self._entries.setdefault((user_id, month), _Spend())
