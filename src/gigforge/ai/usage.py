"""Usage and cached-answer rows, written in batches after the callers have their answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import structlog
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gigforge.accounts.users_service import users as user_service
from gigforge.ai.models import AICacheEntry, AIUsage
from gigforge.ai.spend import Reservation, Row, settle
from gigforge.connections.service import connections as connection_service
from gigforge.kit.clock import utcnow

logger = structlog.get_logger("gigforge.ai")

FLUSH_SECONDS = 0.25  # the longest a recorded row waits before the writer writes it
RETRY_MAX_SECONDS = 30.0


def usage_row(
    user_id: uuid.UUID,
    task: str,
    *,
    integration: str,
    model: str,
    connection_id: uuid.UUID | None = None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost: int = 0,
    latency_ms: int = 0,
    cached: bool = False,
    skipped: Sequence[tuple[str, str]] = (),
) -> Row:
    """An ai_usage row."""
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "task": str(task),
        "integration": integration,
        "connection_id": connection_id,
        "model": model,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_micro_usd": cost,
        "latency_ms": latency_ms,
        "cached": cached,
        "skipped": [list(item) for item in skipped],
        "created_at": utcnow(),
    }


class UsageWriter:
    """Writes usage rows and answers in batches, after the callers have their answers.

    Why deferred: on SQLite one write costs more than all the router may add to a call, and the
    caller does not need its usage row to use its answer. What still holds: the call's
    reservation (`spend.reserve`) holds its most possible cost in the database until the row is
    written, and the same transaction settles it to the real cost, so no budget check in any
    process misses it; the row does not ride on the caller's transaction (the provider was paid
    even when the caller's work rolls back), so a failed request loses no usage. A failed write
    is retried with backoff, its rows and settlements kept meanwhile; a row whose connection was
    deleted since is written without it, and one whose user was deleted is dropped, as that
    user's usage was. Rows wait at most FLUSH_SECONDS; `close` (from the process's shutdown)
    writes what is left, and so does a pending flush cancelled by its event loop shutting down,
    so only a process killed outright can lose the last FLUSH_SECONDS of usage (its
    reservations then expire after RESERVATION_TTL and are released).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._usage: list[Row] = []
        self._settlements: list[tuple[Reservation, int, int]] = []
        self._answers: dict[str, Row] = {}
        self._lock = asyncio.Lock()
        self._scheduled: asyncio.Task[None] | None = None
        self._failures = 0
        self._closed = False

    def add(
        self,
        usage: Row,
        answer: Row | None = None,
        taken: tuple[Reservation, int] | None = None,
    ) -> None:
        """Queue an ai_usage row and, for a fresh answer, its ai_cache row and the settlement
        of what the call took from a reservation, at the row's cost."""
        self._usage.append(usage)
        if answer is not None:
            self._answers[answer["key"]] = answer
        if taken is not None:
            self._settlements.append((*taken, usage["cost_micro_usd"]))
        self._schedule(FLUSH_SECONDS)

    def give_back(self, reservation: Reservation, amount: int) -> None:
        """Queue the return of `amount` of a reservation that no call will use."""
        self._settlements.append((reservation, amount, 0))
        self._schedule(FLUSH_SECONDS)

    async def flush(self) -> None:
        """Write every row recorded so far; rows that cannot be written now are kept."""
        async with self._lock:
            usage, answers, settlements = self._usage, self._answers, self._settlements
            if not usage and not answers and not settlements:
                return
            self._usage, self._answers, self._settlements = [], {}, []
            try:
                await self._write(usage, list(answers.values()), settlements)
            except Exception:
                logger.exception("ai usage write failed; will retry", rows=len(usage))
                self._usage[:0] = usage
                self._answers = {**answers, **self._answers}
                self._settlements[:0] = settlements
                self._failures += 1
                self._schedule(min(FLUSH_SECONDS * 2**self._failures, RETRY_MAX_SECONDS))
                return
            self._failures = 0

    async def close(self) -> None:
        self._closed = True
        if self._scheduled is not None:
            self._scheduled.cancel()
            await asyncio.wait([self._scheduled])
        await self.flush()
        if self._usage:
            logger.error("ai usage could not be written at shutdown", rows=len(self._usage))

    def _schedule(self, delay: float) -> None:
        if not self._closed and (self._scheduled is None or self._scheduled.done()):
            self._scheduled = asyncio.get_running_loop().create_task(self._flush_after(delay))

    async def _flush_after(self, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            # Also when cancelled, as when the loop shuts down: answered calls must be recorded.
            self._scheduled = None
            await self.flush()

    async def _write(
        self, usage: list[Row], answers: list[Row], settlements: list[tuple[Reservation, int, int]]
    ) -> None:
        async with AsyncSession(self._engine) as session, session.begin():
            connection = await session.connection()
            # Calls take from a few grants: one settlement per reservation for the whole batch.
            totals: dict[uuid.UUID, tuple[Reservation, int, int]] = {}
            for reservation, taken, cost in settlements:
                _, taken_before, cost_before = totals.get(reservation.id, (reservation, 0, 0))
                totals[reservation.id] = (reservation, taken_before + taken, cost_before + cost)
            for reservation, taken, cost in totals.values():
                await settle(connection, reservation, cost=cost, taken=taken)
            user_ids = {row["user_id"] for row in usage + answers}
            # A user or connection deleted since the call: its rows go, or lose the link.
            users = await user_service.existing(session, user_ids)
            connection_ids = {row["connection_id"] for row in usage} - {None}
            connections = await connection_service.existing(session, connection_ids)
            for row in usage:
                if row["connection_id"] not in connections:
                    row["connection_id"] = None
            if owned := [row for row in usage if row["user_id"] in users]:
                await connection.execute(insert(AIUsage), owned)
            if len(owned) < len(usage):
                logger.info("ai usage of deleted users dropped", rows=len(usage) - len(owned))
            if cached := [row for row in answers if row["user_id"] in users]:
                keys = [row["key"] for row in cached]
                await connection.execute(delete(AICacheEntry).where(AICacheEntry.key.in_(keys)))
                await connection.execute(insert(AICacheEntry), cached)
