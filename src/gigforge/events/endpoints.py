"""The event stream over HTTP: the catalog of event types, and the caller's events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.events.schemas import EventPage, EventRead, EventTypeList, EventTypeRead
from gigforge.events.service import MAX_TYPE_FILTERS
from gigforge.events.service import events as event_service
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import Unauthorized, ValidationFailed
from gigforge.kit.problems import problem_responses

router = APIRouter(prefix="/events", tags=["events"])

Reader = Annotated[Principal, RequireScope(Scope.events_read)]
_READ_ERRORS = (Unauthorized, InvalidToken, InsufficientScope)
MAX_EVENTS_PER_PAGE = 500


@router.get("/types", response_model=EventTypeList, responses=problem_responses(*_READ_ERRORS))
async def list_event_types(principal: Reader) -> EventTypeList:
    """Every event type Gigforge publishes: its name, summary, the JSON Schema of its data and
    an example."""
    return EventTypeList(
        types=[
            EventTypeRead(
                name=info.name,
                summary=info.summary,
                payload_schema=info.payload_schema,
                example=info.example,
            )
            for info in event_service.types()
        ]
    )


@router.get(
    "",
    response_model=EventPage,
    responses=problem_responses(*_READ_ERRORS, ValidationFailed),
)
async def list_events(
    session: SessionDep,
    principal: Reader,
    after: Annotated[
        uuid.UUID | None, Query(description="Only events after this event id (a cursor)")
    ] = None,
    types: Annotated[
        list[str] | None,
        Query(
            alias="type",
            max_length=MAX_TYPE_FILTERS,
            description="Only these types; repeat it, and `proposal.*` matches a whole family",
        ),
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Only events at or after this ISO 8601 time")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Only events before this ISO 8601 time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PER_PAGE, description="Events per page")] = 100,
    everyone: Annotated[
        bool, Query(alias="all", description="Every user's events (admins only)")
    ] = False,
) -> EventPage:
    """Your events, oldest first. Keep `next_cursor` and pass it as `after` to read on."""
    page = await event_service.list(
        session,
        principal,
        everyone=everyone,
        after=after,
        types=types or (),
        since=since,
        until=until,
        limit=limit,
    )
    return EventPage(
        events=[EventRead.model_validate(row) for row in page.events],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )
