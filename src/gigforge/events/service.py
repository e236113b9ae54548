"""Read the event stream: the catalog of types, and the events a user may see.

Events are read oldest first with a cursor (an event id), so a consumer that stores the last
id it handled resumes exactly there. Time bounds become id bounds: the ids are UUIDv7, whose
first 48 bits are the millisecond they were made, so `since`/`until` use the same index as
the cursor.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.errors import InsufficientScope
from gigforge.accounts.principal import Principal
from gigforge.events.catalog import import_event_types
from gigforge.events.repository import EventRepository
from gigforge.kit.errors import ValidationFailed
from gigforge.kit.ids import uuid7_floor
from gigforge.kit.outbox import EventPayload, EventRow

MAX_TYPE_FILTERS = 20
MAX_UUID7_MS = (1 << 48) - 1
_NAME = r"[a-z0-9_]+(\.[a-z0-9_]+)*"
TYPE_FILTER = re.compile(rf"^{_NAME}(\.\*)?$")


@dataclass(frozen=True)
class EventTypeInfo:
    name: str
    summary: str
    payload_schema: dict[str, object]
    example: dict[str, object]


@dataclass(frozen=True)
class EventSlice:
    events: Sequence[EventRow]
    next_cursor: uuid.UUID | None
    has_more: bool


def _type_info(payload: type[EventPayload]) -> EventTypeInfo:
    return EventTypeInfo(
        name=payload.event_type,
        summary=payload.summary,
        payload_schema=payload.model_json_schema(),
        example=payload.example,
    )


def _aware(moment: datetime) -> datetime:
    """A time without an offset is taken as UTC, like every time Gigforge stores."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _id_floor(moment: datetime) -> uuid.UUID:
    """The smallest event id of `moment`'s millisecond (times before 1970 are 1970)."""
    milliseconds = int(_aware(moment).timestamp() * 1000)
    return uuid7_floor(min(max(milliseconds, 0), MAX_UUID7_MS))


def split_type_filters(filters: Sequence[str]) -> tuple[list[str], list[str]]:
    """Exact names and `domain.*` prefixes (kept with their dot); a 422 for anything else."""
    if len(filters) > MAX_TYPE_FILTERS:
        raise ValidationFailed(f"Give at most {MAX_TYPE_FILTERS} `type` filters")
    names: list[str] = []
    prefixes: list[str] = []
    for raw in filters:
        value = raw.strip().lower()
        if len(value) > 100 or not TYPE_FILTER.match(value):
            raise ValidationFailed(
                f"`type` takes an event name such as proposal.submitted or a family such as "
                f"proposal.*, not {raw[:100]!r}"
            )
        if value.endswith(".*"):
            prefixes.append(value[:-1])
        else:
            names.append(value)
    return names, prefixes


class EventService:
    def types(self) -> list[EventTypeInfo]:
        return [_type_info(payload) for payload in import_event_types().values()]

    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        everyone: bool = False,
        after: uuid.UUID | None = None,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> EventSlice:
        """The principal's events after `after`, oldest first; `everyone` (admins only) reads
        every user's and the system's events."""
        if everyone and not principal.is_admin:
            raise InsufficientScope("Only admins can read every user's events (all=true)")
        if since is not None and until is not None and _aware(until) <= _aware(since):
            raise ValidationFailed("`until` must be later than `since`")
        names, prefixes = split_type_filters(types)
        rows = await EventRepository(session).page(
            user_id=None if everyone else principal.user_id,
            after=after,
            since=_id_floor(since) if since is not None else None,
            before=_id_floor(until) if until is not None else None,
            names=names,
            prefixes=prefixes,
            limit=limit + 1,
        )
        events = rows[:limit]
        return EventSlice(
            events=events,
            next_cursor=events[-1].id if events else after,
            has_more=len(rows) > limit,
        )


events = EventService()
