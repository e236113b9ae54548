"""Attempt limits counted before the work they guard.

A limit that only counts failures after a password check lets concurrent guesses through:
all of them read the count before any of them adds to it. Here an attempt is counted first,
atomically in the database (so across processes too), and the work runs only if the count is
still within the limit. The count is committed in a short transaction of its own, before the
guarded work and whatever the request's transaction does: it holds no lock while Argon2id
runs, and a request that fails later still used its attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.repository import ThrottleRepository
from gigforge.kit.clock import utcnow
from gigforge.kit.db import side_session
from gigforge.kit.errors import TooManyRequests


@dataclass(frozen=True)
class Limit:
    """At most `attempts` per `window` for `key`; the window starts at the key's first attempt."""

    key: str
    attempts: int
    window: timedelta


async def reserve(
    session: AsyncSession,
    limits: Sequence[Limit],
    *,
    refusal: Callable[[int], TooManyRequests],
) -> None:
    """Count one attempt against every limit, or none and raise `refusal(retry_after_seconds)`
    when any of them is used up.

    The count commits in a transaction of its own (see `db.side_session`). Call it before
    the request's session writes anything: on SQLite the count needs the database's write
    lock, which that session would otherwise be holding.
    """
    now = utcnow()
    refused_until: datetime | None = None
    async with side_session(session) as own:
        counters = ThrottleRepository(own)
        # One order for every request, so two requests never wait for each other's rows.
        for limit in sorted(limits, key=lambda item: item.key):
            attempts, window_ends = await counters.count_attempt(
                limit.key, now=now, window=limit.window
            )
            if attempts > limit.attempts and (refused_until is None or window_ends > refused_until):
                refused_until = window_ends
        if refused_until is not None:
            await own.rollback()
            raise refusal(_ceil_seconds(refused_until - now))
        await own.commit()
        await counters.sweep(now=now)
        await own.commit()


async def give_back(session: AsyncSession, key: str) -> None:
    """Uncount one attempt of `key`, in the request's transaction (a legitimate success)."""
    await ThrottleRepository(session).give_back(key)


async def clear(session: AsyncSession, key: str) -> None:
    """Forget every attempt of `key`, in the request's transaction."""
    await ThrottleRepository(session).clear(key)


def _ceil_seconds(delta: timedelta) -> int:
    return max(1, int(-(-delta.total_seconds() // 1)))
