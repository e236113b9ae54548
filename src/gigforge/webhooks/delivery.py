"""The background side of webhooks: fan-out from the event stream, and batched delivery.

Fan-out reads new events in id order after a durable cursor and writes one delivery row per
matching (event, endpoint), advancing the cursor in the same transaction: each event fans out
once. Events committed late (a transaction that took a UUIDv7 before a later one committed)
are caught by a short look-back below the cursor; the unique (event, endpoint) key makes that
idempotent.

Delivery claims a batch of due rows in one short transaction (a lease), sends them all at once
over the process's pooled client with no transaction open, and records every outcome and
attempt in one more transaction. A worker that dies mid-batch leaves leases that run out; the
rows are claimed again and sent with the same `webhook-id`, and the lost attempt is logged as
abandoned.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.vault import Keyring, vault
from gigforge.kit import clock
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.ids import uuid7, uuid7_floor, uuid7_time_ms
from gigforge.kit.outbox import EventRow, publish
from gigforge.kit.tasks import enqueue
from gigforge.webhooks.events import WebhookEndpointDisabled
from gigforge.webhooks.filters import matches
from gigforge.webhooks.models import DeliveryState, WebhookEndpoint, message_id
from gigforge.webhooks.repository import Claimed, DeliveryRepository, EndpointRepository
from gigforge.webhooks.sending import Outcome, Outgoing, WebhookSender

FAN_OUT_TASK = "webhooks.fan_out"
DELIVER_TASK = "webhooks.deliver"
SWEEP_TASK = "webhooks.sweep"
SWEEP_EVERY = timedelta(seconds=10)
FANOUT_BATCH = 2000
LOOKBACK = timedelta(seconds=10)
#: Events that go only where they are addressed (a test message), never fanned out.
NOT_FANNED_OUT = ("webhook.test",)

#: Svix's schedule: the delay before each attempt, the first one immediate.
RETRY_SCHEDULE = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
JITTER = 0.1
DISABLE_AFTER = timedelta(days=5)
CLAIM_BATCH = 250
LANES = 3
LEASE = timedelta(seconds=60)
ABANDONED = "the worker stopped before recording this attempt's outcome; sent again"


def retry_delay(attempts: int, jitter: float) -> timedelta | None:
    """The wait after `attempts` failed attempts, ±10 %; None once the schedule is spent."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_SCHEDULE[attempts] * (1 - JITTER + 2 * JITTER * jitter)


def ordering_key(event: EventRow) -> str:
    """The object an event is about, by the `<domain>_id` in its data (`proposal_id` for
    `proposal.*`); an event without one is ordered with nothing."""
    domain = event.type.split(".", 1)[0]
    value = event.payload.get(f"{domain}_id") if isinstance(event.payload, dict) else None
    return f"{domain}:{value}"[:200] if value else f"event:{event.id}"


def message_body(event: EventRow) -> bytes:
    """The Standard Webhooks body: the event's type, time and data."""
    return json.dumps(
        {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.payload},
        separators=(",", ":"),
    ).encode()


# Fan-out --------------------------------------------------------------------------------


async def fan_out_once(session: AsyncSession) -> tuple[int, bool]:
    """One pass: (deliveries written, whether more new events are waiting)."""
    now = clock.utcnow()
    deliveries = DeliveryRepository(session)
    endpoints = EndpointRepository(session)
    cursor = await deliveries.lock_cursor(now)
    if cursor is None:
        earliest = await endpoints.earliest_enabled()
        if earliest is None:
            return 0, False
        start = uuid7_floor(max(int(earliest.timestamp() * 1000) - 1, 0))
        fresh = await deliveries.events_after(start, skip_types=NOT_FANNED_OUT, limit=FANOUT_BATCH)
        late: Sequence[EventRow] = ()
    else:
        fresh = await deliveries.events_after(cursor, skip_types=NOT_FANNED_OUT, limit=FANOUT_BATCH)
        floor = uuid7_floor(max(uuid7_time_ms(cursor) - int(LOOKBACK.total_seconds() * 1000), 0))
        late = await deliveries.unfanned_events(
            floor, cursor, skip_types=NOT_FANNED_OUT, limit=FANOUT_BATCH
        )
    events = [*late, *fresh]
    subscribed: dict[uuid.UUID, list[WebhookEndpoint]] = defaultdict(list)
    if events:
        for endpoint in await endpoints.enabled_for_users(
            {event.user_id for event in events if event.user_id is not None}
        ):
            subscribed[endpoint.user_id].append(endpoint)
    rows: list[dict[str, Any]] = []
    for event in events:
        if event.user_id is None:
            continue
        for endpoint in subscribed.get(event.user_id, ()):
            if endpoint.created_at > event.occurred_at or not matches(
                endpoint.event_types, event.type
            ):
                continue
            rows.append(delivery_row(event, endpoint.id, now))
    inserted = await deliveries.insert_many(rows) if rows else 0
    if fresh:
        await deliveries.advance_cursor(fresh[-1].id)
    if inserted:
        await enqueue(session, DELIVER_TASK)
    return inserted, len(fresh) == FANOUT_BATCH


def delivery_row(event: EventRow, endpoint_id: uuid.UUID, now: datetime) -> dict[str, Any]:
    assert event.user_id is not None
    return {
        "id": uuid7(),
        "endpoint_id": endpoint_id,
        "event_id": event.id,
        "user_id": event.user_id,
        "event_type": event.type,
        "ordering_key": ordering_key(event),
        "state": DeliveryState.pending,
        "attempts": 0,
        "due_at": now,
        "created_at": now,
    }


async def fan_out(database: Database) -> int:
    """Fan out everything new, a batch per transaction; returns the deliveries written."""
    total = 0
    while True:
        async with unit_of_work(database) as session:
            inserted, more = await fan_out_once(session)
        total += inserted
        if not more:
            return total


# Delivering -----------------------------------------------------------------------------


@dataclass
class RateLimits:
    """Per-endpoint budgets of this process: at most `rate_limit` sends in any second."""

    windows: dict[object, tuple[float, int]] = field(default_factory=dict)

    def take(self, endpoint: WebhookEndpoint, now: datetime) -> datetime | None:
        """None when a send may go now, else when the next one may."""
        if endpoint.rate_limit is None:
            return None
        second = math.floor(now.timestamp())
        start, used = self.windows.get(endpoint.id, (second, 0))
        if start != second:
            start, used = second, 0
        if used >= endpoint.rate_limit:
            return datetime.fromtimestamp(second + 1, tz=now.tzinfo)
        self.windows[endpoint.id] = (start, used + 1)
        return None


class Deliverer:
    """The process's delivery loop pieces: the pooled sender, the vault keyring, the limits."""

    def __init__(
        self,
        database: Database,
        sender: WebhookSender,
        keyring: Keyring,
        *,
        lease: timedelta = LEASE,
    ) -> None:
        self.database = database
        self.sender = sender
        self.keyring = keyring
        #: How long a claim holds: past it, the worker is taken as dead and the rows are sent
        #: again (with the same webhook-id). Longer than a send can take.
        self.lease = max(lease, timedelta(seconds=sender.timeout + 3))
        self.limits = RateLimits(sender.rate_windows)

    async def _secret(self, session: AsyncSession, secret_id: uuid.UUID, user_id: uuid.UUID) -> str:
        cached = self.sender.secret_cache.get(secret_id)
        if cached is None:
            secret = await vault.get(session, self.keyring, secret_id, user_id=user_id)
            cached = self.sender.secret_cache[secret_id] = secret.reveal_text()
        return cached

    async def outgoing(self, session: AsyncSession, item: Claimed, now: datetime) -> Outgoing:
        endpoint = item.endpoint
        secrets = [await self._secret(session, endpoint.secret_id, endpoint.user_id)]
        if (
            endpoint.previous_secret_id is not None
            and endpoint.previous_secret_expires_at is not None
            and endpoint.previous_secret_expires_at > now
        ):
            secrets.append(
                await self._secret(session, endpoint.previous_secret_id, endpoint.user_id)
            )
        headers: dict[str, str] = {}
        if endpoint.headers_secret_id is not None:
            headers = json.loads(
                await self._secret(session, endpoint.headers_secret_id, endpoint.user_id)
            )
        return Outgoing(
            url=endpoint.url,
            msg_id=message_id(item.delivery.id),
            body=message_body(item.event),
            secrets=tuple(secrets),
            headers=headers,
        )

    async def deliver(self, *, lanes: int = LANES, batch: int = CLAIM_BATCH) -> int:
        """Send everything due now, `lanes` batches in flight; then make sure a run is queued
        for the next delivery that comes due. Returns the attempts made."""
        run = f"webhooks:{uuid.uuid4().hex[:12]}"
        counts = await asyncio.gather(*(self._lane(run, batch) for _ in range(lanes)))
        async with unit_of_work(self.database) as session:
            await schedule_next(session)
        return sum(counts)

    async def _lane(self, run: str, batch: int) -> int:
        sent = 0
        while True:
            now = clock.utcnow()
            async with unit_of_work(self.database) as session:
                claimed = await DeliveryRepository(session).claim(
                    now=now, until=now + self.lease, run=run, limit=batch
                )
                abandoned = [
                    attempt_row(item, now, outcome=None)
                    for item in claimed
                    if item.delivery.abandoned_claim is not None
                ]
                await DeliveryRepository(session).add_attempts(abandoned)
                ready: list[tuple[Claimed, Outgoing]] = []
                deferred: list[tuple[uuid.UUID, datetime]] = []
                for item in claimed:
                    wait_until = self.limits.take(item.endpoint, now)
                    if wait_until is not None:
                        deferred.append((item.delivery.id, wait_until))
                    else:
                        ready.append((item, await self.outgoing(session, item, now)))
                await DeliveryRepository(session).release(deferred, run)
            if not claimed:
                return sent
            sending_at = clock.utcnow()
            outcomes = await asyncio.gather(
                *(self.sender.send(message, sending_at) for _, message in ready)
            )
            async with unit_of_work(self.database) as session:
                await record(session, run, [item for item, _ in ready], outcomes, clock.utcnow())
            sent += len(ready)
            if not ready:
                # Everything claimed was over its rate limit: the follow-up run takes it.
                return sent


def attempt_row(item: Claimed, now: datetime, outcome: Outcome | None) -> dict[str, Any]:
    delivery = item.delivery
    return {
        "id": uuid7(),
        "delivery_id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "msg_id": message_id(delivery.id),
        "attempted_at": now,
        "succeeded": bool(outcome and outcome.succeeded),
        "status_code": outcome.status_code if outcome else None,
        "duration_ms": outcome.duration_ms if outcome else 0,
        "response_excerpt": outcome.excerpt if outcome else "",
        "error": (outcome.error if outcome else ABANDONED),
    }


async def record(
    session: AsyncSession,
    run: str,
    items: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    now: datetime,
) -> None:
    """Every attempt, each delivery's next state, and what the outcomes mean for endpoints."""
    deliveries = DeliveryRepository(session)
    updates: list[dict[str, Any]] = []
    succeeded: set[uuid.UUID] = set()
    failed: set[uuid.UUID] = set()
    gone: dict[uuid.UUID, WebhookEndpoint] = {}
    recovered: dict[uuid.UUID, WebhookEndpoint] = {}
    failing: dict[uuid.UUID, WebhookEndpoint] = {}
    for item, outcome in zip(items, outcomes, strict=True):
        delivery = item.delivery
        attempts = delivery.attempts + 1
        state = DeliveryState.pending
        due = delivery.due_at
        finished = None
        if outcome.succeeded:
            state, finished = DeliveryState.succeeded, now
            succeeded.add(delivery.endpoint_id)
            if item.endpoint.failing_since is not None:
                recovered[delivery.endpoint_id] = item.endpoint
        else:
            failed.add(delivery.endpoint_id)
            if item.endpoint.failing_since is None:
                failing[delivery.endpoint_id] = item.endpoint
            wait = retry_delay(attempts, random.random())  # noqa: S311 (spreading retries)
            if outcome.gone or wait is None:
                state, finished = DeliveryState.failed, now
            else:
                due = now + (outcome.retry_after if outcome.retry_after is not None else wait)
            if outcome.gone:
                gone[delivery.endpoint_id] = item.endpoint
        updates.append(
            {
                "b_id": delivery.id,
                "b_state": state,
                "b_attempts": attempts,
                "b_due": due,
                "b_status": outcome.status_code,
                "b_error": outcome.error[:300] if outcome.error else None,
                "b_finished": finished,
            }
        )
    await deliveries.add_attempts(
        [attempt_row(item, now, outcome) for item, outcome in zip(items, outcomes, strict=True)]
    )
    await deliveries.record(updates, run)
    endpoints = EndpointRepository(session)
    # Only endpoints whose state changes are written, one at a time in id order, so that
    # concurrent runs never deadlock on endpoint rows; a healthy endpoint is not written.
    for endpoint in sorted(recovered.values(), key=lambda row: row.id):
        await endpoints.mark_succeeded([endpoint.id])
    for endpoint in sorted(
        (row for key, row in failing.items() if key not in succeeded), key=lambda row: row.id
    ):
        await endpoints.mark_failing([endpoint.id], now)
    still_failing = failed - succeeded
    if still_failing:
        for endpoint in await endpoints.failing_before(still_failing, now - DISABLE_AFTER):
            await disable(session, endpoint, "failed every delivery for 5 days", now)
    for endpoint in gone.values():
        await disable(session, endpoint, "the endpoint answered 410 Gone", now)


async def disable(
    session: AsyncSession, endpoint: WebhookEndpoint, reason: str, now: datetime
) -> None:
    """Disable an endpoint (once), fail what waited for it, and tell its owner by an event
    and, on the dashboard, the endpoint's notice."""
    if not await EndpointRepository(session).disable(endpoint.id, reason):
        return
    await DeliveryRepository(session).fail_pending(endpoint.id, f"endpoint disabled: {reason}", now)
    await publish(
        session,
        WebhookEndpointDisabled(endpoint_id=endpoint.id, reason=reason),
        user_id=endpoint.user_id,
    )


async def schedule_next(session: AsyncSession) -> None:
    """Queue a delivery run for when the next pending delivery comes due (one per second)."""
    now = clock.utcnow()
    due = await DeliveryRepository(session).next_due()
    if due is None:
        return
    second = max(math.ceil(due.timestamp()), math.ceil(now.timestamp()))
    await enqueue(
        session,
        DELIVER_TASK,
        due_at=datetime.fromtimestamp(second, tz=now.tzinfo),
        dedupe_key=f"{DELIVER_TASK}@{second}",
    )
