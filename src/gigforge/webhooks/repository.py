"""Every query of the webhooks domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from gigforge.kit.db import dialect_insert
from gigforge.kit.outbox import EventRow
from gigforge.kit.repository import Repository
from gigforge.webhooks.models import (
    DeliveryState,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)

FANOUT_CURSOR = "fanout"
MANUALLY_DISABLED = "disabled by you"
INSERT_CHUNK = 500


class EndpointRepository(Repository[WebhookEndpoint]):
    model = WebhookEndpoint

    def listed(self, user_id: uuid.UUID) -> Select[WebhookEndpoint]:
        return self.scoped(user_id).order_by(WebhookEndpoint.created_at.desc())

    async def enabled_for_users(self, user_ids: Iterable[uuid.UUID]) -> Sequence[WebhookEndpoint]:
        return await self.all(
            self.statement().where(
                WebhookEndpoint.enabled.is_(True), WebhookEndpoint.user_id.in_(set(user_ids))
            )
        )

    async def disabled_by_failures(self, user_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
        """The user's endpoints that Gigforge disabled (410 Gone, 5 days of failures)."""
        return await self.all(
            self.scoped(user_id).where(
                WebhookEndpoint.enabled.is_(False),
                WebhookEndpoint.disabled_reason.is_not(None),
                WebhookEndpoint.disabled_reason != MANUALLY_DISABLED,
            )
        )

    async def any_enabled_for(self, user_ids: Iterable[uuid.UUID]) -> bool:
        found = await self.session.scalar(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.user_id.in_(set(user_ids)), WebhookEndpoint.enabled.is_(True))
            .limit(1)
        )
        return found is not None

    async def earliest_enabled(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(WebhookEndpoint.created_at)).where(WebhookEndpoint.enabled.is_(True))
        )

    async def by_ids(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, WebhookEndpoint]:
        rows = await self.all(self.statement().where(WebhookEndpoint.id.in_(set(ids))))
        return {row.id: row for row in rows}

    async def mark_succeeded(self, ids: Iterable[uuid.UUID]) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(set(ids)), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )

    async def mark_failing(self, ids: Iterable[uuid.UUID], now: datetime) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(set(ids)), WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
            .execution_options(synchronize_session=False)
        )

    async def failing_before(
        self, ids: Iterable[uuid.UUID], moment: datetime
    ) -> Sequence[WebhookEndpoint]:
        return await self.all(
            self.statement().where(
                WebhookEndpoint.id.in_(set(ids)),
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.failing_since < moment,
            )
        )

    async def disable(self, endpoint_id: uuid.UUID, reason: str) -> bool:
        """Disable once: False when it already was (two workers seeing the same 410)."""
        result = await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.enabled.is_(True))
            .values(enabled=False, disabled_reason=reason[:300])
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def _head_of_line() -> ColumnElement[bool]:
    """No older unfinished delivery of the same object waits for the same endpoint."""
    older = aliased(WebhookDelivery)
    return ~exists().where(
        older.endpoint_id == WebhookDelivery.endpoint_id,
        older.ordering_key == WebhookDelivery.ordering_key,
        older.state == DeliveryState.pending,
        older.event_id < WebhookDelivery.event_id,
    )


@dataclass(frozen=True)
class Claimed:
    """A delivery this run holds, with what sending it needs."""

    delivery: WebhookDelivery
    event: EventRow
    endpoint: WebhookEndpoint


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery

    # Fan-out -----------------------------------------------------------------------------

    async def lock_cursor(self, now: datetime) -> uuid.UUID | None:
        """The fan-out cursor, locked for this transaction: fan-outs run one at a time.

        The UPDATE comes first: it takes the row lock on PostgreSQL and the write lock on
        SQLite, so no second fan-out reads the same cursor before this one commits."""
        await self.session.execute(
            dialect_insert(self.session, WebhookCursor)
            .values(name=FANOUT_CURSOR, last_event_id=None, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        await self.session.execute(
            update(WebhookCursor)
            .where(WebhookCursor.name == FANOUT_CURSOR)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return await self.session.scalar(
            select(WebhookCursor.last_event_id).where(WebhookCursor.name == FANOUT_CURSOR)
        )

    async def advance_cursor(self, last_event_id: uuid.UUID) -> None:
        await self.session.execute(
            update(WebhookCursor)
            .where(WebhookCursor.name == FANOUT_CURSOR)
            .values(last_event_id=last_event_id)
            .execution_options(synchronize_session=False)
        )

    def _subscribed_events(self, skip_types: Sequence[str]) -> Select[EventRow]:
        subscribers = select(WebhookEndpoint.user_id).where(WebhookEndpoint.enabled.is_(True))
        return select(EventRow).where(
            EventRow.user_id.in_(subscribers), EventRow.type.not_in(skip_types)
        )

    async def events_after(
        self, after: uuid.UUID | None, *, skip_types: Sequence[str], limit: int
    ) -> Sequence[EventRow]:
        """New events of users with an enabled endpoint, oldest first."""
        statement = self._subscribed_events(skip_types)
        if after is not None:
            statement = statement.where(EventRow.id > after)
        result = await self.session.execute(statement.order_by(EventRow.id).limit(limit))
        return result.scalars().all()

    async def unfanned_events(
        self, floor: uuid.UUID, upto: uuid.UUID, *, skip_types: Sequence[str], limit: int
    ) -> Sequence[EventRow]:
        """Events at or below the cursor (and above `floor`) that have no delivery: those a
        transaction committed after a later event had already been read."""
        delivered = exists().where(WebhookDelivery.event_id == EventRow.id)
        result = await self.session.execute(
            self._subscribed_events(skip_types)
            .where(EventRow.id > floor, EventRow.id <= upto, ~delivered)
            .order_by(EventRow.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """New delivery rows; an (event, endpoint) pair that has one already is skipped."""
        inserted = 0
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            result = await self.session.execute(
                dialect_insert(self.session, WebhookDelivery)
                .values(list(chunk))
                .on_conflict_do_nothing(index_elements=["event_id", "endpoint_id"])
                .returning(WebhookDelivery.id)
            )
            inserted += len(result.scalars().all())
        return inserted

    # Delivering --------------------------------------------------------------------------

    async def claim(self, *, now: datetime, until: datetime, run: str, limit: int) -> list[Claimed]:
        """Take up to `limit` due deliveries for this run, with a lease until `until`.

        Only the oldest unfinished delivery of each (endpoint, object) is due, so one object's
        events reach an endpoint in order while other objects and endpoints go on."""
        due = (
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.state == DeliveryState.pending,
                WebhookDelivery.due_at <= now,
                or_(
                    WebhookDelivery.claimed_until.is_(None),
                    WebhookDelivery.claimed_until < now,
                ),
                WebhookEndpoint.enabled.is_(True),
                _head_of_line(),
            )
            .order_by(WebhookDelivery.due_at)
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(due.scalar_subquery()))
            .values(
                claimed_until=until,
                claimed_by=run,
                # Still set means the last claim ended without an outcome: its worker died.
                abandoned_claim=WebhookDelivery.claimed_until,
            )
            .returning(WebhookDelivery)
            .execution_options(synchronize_session=False)
        )
        deliveries = list(result.scalars().all())
        if not deliveries:
            return []
        events = {
            row.id: row
            for row in (
                await self.session.execute(
                    select(EventRow).where(
                        EventRow.id.in_({delivery.event_id for delivery in deliveries})
                    )
                )
            )
            .scalars()
            .all()
        }
        endpoints = await EndpointRepository(self.session).by_ids(
            delivery.endpoint_id for delivery in deliveries
        )
        claimed = []
        for delivery in deliveries:
            event = events.get(delivery.event_id)
            if event is None:  # the event was pruned from the stream: nothing left to send
                delivery.state = DeliveryState.failed
                delivery.last_error = "the event no longer exists"
                delivery.claimed_until = delivery.claimed_by = None
                continue
            claimed.append(Claimed(delivery, event, endpoints[delivery.endpoint_id]))
        await self.session.flush()
        return claimed

    async def release(self, items: Sequence[tuple[uuid.UUID, datetime]], run: str) -> None:
        """Give back claims not sent (an endpoint's rate limit), due again at the time given."""
        if not items:
            return
        table = cast(Table, WebhookDelivery.__table__)
        await self.session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"), table.c.claimed_by == run)
            .values(due_at=bindparam("b_due"), claimed_until=None, claimed_by=None),
            [{"b_id": delivery_id, "b_due": due} for delivery_id, due in items],
        )

    async def record(self, outcomes: Sequence[dict[str, Any]], run: str) -> None:
        """Each outcome's new state, in one statement, for the rows this run still holds."""
        if not outcomes:
            return
        table = cast(Table, WebhookDelivery.__table__)
        await self.session.execute(
            table.update()
            .where(table.c.id == bindparam("b_id"), table.c.claimed_by == run)
            .values(
                state=bindparam("b_state"),
                attempts=bindparam("b_attempts"),
                due_at=bindparam("b_due"),
                last_status=bindparam("b_status"),
                last_error=bindparam("b_error"),
                finished_at=bindparam("b_finished"),
                claimed_until=None,
                claimed_by=None,
                abandoned_claim=None,
            ),
            list(outcomes),
        )

    async def add_attempts(self, attempts: Sequence[dict[str, Any]]) -> None:
        if attempts:
            await self.session.execute(
                cast(Table, WebhookAttempt.__table__).insert(), list(attempts)
            )

    async def next_due(self) -> datetime | None:
        """When the earliest claimable delivery of an enabled endpoint comes due (a held one
        when its lease runs out), if any does."""
        ready_at = case(
            (WebhookDelivery.claimed_until > WebhookDelivery.due_at, WebhookDelivery.claimed_until),
            else_=WebhookDelivery.due_at,
        )
        due: datetime | None = await self.session.scalar(
            select(func.min(ready_at))
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.state == DeliveryState.pending,
                WebhookEndpoint.enabled.is_(True),
                _head_of_line(),
            )
        )
        return due

    async def fail_pending(self, endpoint_id: uuid.UUID, reason: str, now: datetime) -> None:
        """An endpoint was disabled: what waited for it fails (recover sends it again)."""
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.state == DeliveryState.pending,
            )
            .values(
                state=DeliveryState.failed,
                last_error=reason[:300],
                finished_at=now,
                claimed_until=None,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )

    # Operations ---------------------------------------------------------------------------

    async def for_event(self, user_id: uuid.UUID, event_id: uuid.UUID) -> Sequence[WebhookDelivery]:
        return await self.all(self.scoped(user_id).where(WebhookDelivery.event_id == event_id))

    async def requeue(self, ids: Sequence[uuid.UUID], now: datetime) -> int:
        """Due now with a fresh retry schedule; the row (and so the webhook-id) stays."""
        if not ids:
            return 0
        result = await self.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(
                state=DeliveryState.pending,
                attempts=0,
                due_at=now,
                finished_at=None,
                claimed_until=None,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0))

    async def failed_since(self, endpoint_id: uuid.UUID, since: datetime) -> list[uuid.UUID]:
        result = await self.session.execute(
            select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.state == DeliveryState.failed,
                WebhookDelivery.created_at >= since,
            )
        )
        return list(result.scalars().all())

    async def counts(self, endpoint_id: uuid.UUID) -> dict[str, int]:
        result = await self.session.execute(
            select(WebhookDelivery.state, func.count())
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .group_by(WebhookDelivery.state)
        )
        return {str(state): int(count) for state, count in result.all()}


class AttemptRepository(Repository[WebhookAttempt]):
    model = WebhookAttempt
    owner_column = None

    async def page(
        self, endpoint_id: uuid.UUID, *, before: uuid.UUID | None, limit: int
    ) -> Sequence[WebhookAttempt]:
        """Newest first; `before` is the last attempt id of the previous page."""
        statement = self.statement().where(WebhookAttempt.endpoint_id == endpoint_id)
        if before is not None:
            statement = statement.where(WebhookAttempt.id < before)
        return await self.all(statement.order_by(WebhookAttempt.id.desc()).limit(limit))

    async def for_delivery(self, delivery_id: uuid.UUID) -> Sequence[WebhookAttempt]:
        return await self.all(
            self.statement()
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.id)
        )


__all__ = ["AttemptRepository", "Claimed", "DeliveryRepository", "EndpointRepository"]
