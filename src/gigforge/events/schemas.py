from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from gigforge.kit.schemas import OutputSchema


class EventTypeRead(OutputSchema):
    name: str = Field(examples=["proposal.submitted"])
    summary: str
    payload_schema: dict[str, Any] = Field(
        serialization_alias="schema", description="JSON Schema of the event's `data`"
    )
    example: dict[str, Any] = Field(description="An example of the event's `data`")


class EventTypeList(OutputSchema):
    types: list[EventTypeRead]


class EventRead(OutputSchema):
    id: uuid.UUID = Field(description="A UUIDv7: events sort by id in the order they happened")
    type: str
    occurred_at: datetime
    data: dict[str, Any] = Field(validation_alias="payload")


class EventPage(OutputSchema):
    events: list[EventRead]
    next_cursor: uuid.UUID | None = Field(
        description="Pass as `after` to read on; the last event returned, or the `after` you "
        "sent when nothing newer exists yet (null only when there are no events at all)"
    )
    has_more: bool = Field(description="More events already exist after this page")
