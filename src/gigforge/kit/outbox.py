"""Durable domain events: a transactional outbox.

A domain declares each event it publishes as a payload model (`@event_type`) in its
`events.py`, and publishes inside its unit of work with `publish(session, payload, user_id=...)`.
The event is a row written in the same transaction as the change, so it exists if and only if
the change committed. Its id is a UUIDv7: events sort in the order they happened, and an id is a
cursor. Webhooks, GraphQL subscriptions and notifications read this one stream; the publisher
never calls them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Index, String, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base
from gigforge.kit.ids import uuid7
from gigforge.kit.redaction import redact

#: `session.info` key: events this transaction wrote, for after-commit listeners.
PUBLISHED = "gigforge.events.published"

#: Consumers of the stream (webhooks' fan-out), called inside each publishing unit of work
#: with the users whose events it wrote: a consumer enqueues the task that reads the new
#: events (once per transaction), so the task exists if and only if the events do. Registered
#: by the consumer's `tasks.py`; a consumer also runs on a schedule, which catches anything
#: this misses.
StreamConsumer = Callable[[AsyncSession, set[uuid.UUID | None]], Awaitable[None]]
STREAM_CONSUMERS: list[StreamConsumer] = []


async def _tell_consumers(session: AsyncSession, user_ids: Iterable[uuid.UUID | None]) -> None:
    if STREAM_CONSUMERS:
        users = set(user_ids)
        for consumer in STREAM_CONSUMERS:
            await consumer(session, users)


#: Reactions to one event type, called inside the publishing unit of work with the payload
#: and its user: how one domain starts its own work when another's state changes (payments
#: queue a job's transfers when the job completes) without the publisher importing it. A
#: reaction only writes rows and enqueues tasks; the tasks do the rest after the commit.
Reaction = Callable[[AsyncSession, "EventPayload", uuid.UUID | None], Awaitable[None]]
REACTIONS: dict[str, list[Reaction]] = {}


def react(event_name: str, reaction: Reaction) -> None:
    """Register `reaction` for `event_name` once (a module imported twice adds it once)."""
    reactions = REACTIONS.setdefault(event_name, [])
    if reaction not in reactions:
        reactions.append(reaction)


class EventPayload(BaseModel):
    """An event's data. Subclasses name the event and give an example for the catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    summary: ClassVar[str]
    example: ClassVar[dict[str, Any]]


P = TypeVar("P", bound=type[EventPayload])

#: Every event type by name, filled as domains' `events.py` modules are imported.
CATALOG: dict[str, type[EventPayload]] = {}


def event_type(name: str, *, summary: str, example: dict[str, Any]) -> Any:
    """Declare a payload model as event `name` (`domain.past_tense_verb`)."""

    def register(cls: P) -> P:
        if name in CATALOG and CATALOG[name] is not cls:
            raise ValueError(f"event type {name!r} is declared twice")
        cls.event_type = name
        cls.summary = summary
        cls.example = example
        cls.model_validate(example)
        CATALOG[name] = cls
        return cls

    return register


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_user_id_id", "user_id", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    type: Mapped[str] = mapped_column(String(100), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


def event_row(payload: EventPayload, *, user_id: uuid.UUID | None) -> EventRow:
    if CATALOG.get(payload.event_type) is not type(payload):
        raise LookupError(f"{type(payload).__name__} is not a declared event type")
    data = redact(payload.model_dump(mode="json"))
    assert isinstance(data, dict)
    return EventRow(
        id=uuid7(), type=payload.event_type, user_id=user_id, payload=data, occurred_at=utcnow()
    )


async def publish(
    session: AsyncSession, payload: EventPayload, *, user_id: uuid.UUID | None
) -> EventRow:
    """Write the event into the caller's unit of work; it commits or rolls back with it."""
    row = event_row(payload, user_id=user_id)
    session.add(row)
    session.info.setdefault(PUBLISHED, []).append(row.id)
    await _tell_consumers(session, (user_id,))
    for reaction in REACTIONS.get(payload.event_type, ()):
        await reaction(session, payload, user_id)
    return row


async def publish_many(
    session: AsyncSession, payloads: list[tuple[EventPayload, uuid.UUID | None]]
) -> None:
    """Many events in one multi-row INSERT (a scan's new listings), in the caller's unit of work."""
    if not payloads:
        return
    rows = [event_row(payload, user_id=user_id) for payload, user_id in payloads]
    await session.execute(
        insert(EventRow),
        [
            {
                "id": row.id,
                "type": row.type,
                "user_id": row.user_id,
                "payload": row.payload,
                "occurred_at": row.occurred_at,
            }
            for row in rows
        ],
    )
    session.info.setdefault(PUBLISHED, []).extend(row.id for row in rows)
    await _tell_consumers(session, (row.user_id for row in rows))
    for payload, user_id in payloads:
        for reaction in REACTIONS.get(payload.event_type, ()):
            await reaction(session, payload, user_id)
