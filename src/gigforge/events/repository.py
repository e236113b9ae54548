"""Every query on the event stream."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_

from gigforge.kit.outbox import EventRow
from gigforge.kit.repository import Repository

LIKE_ESCAPE = "\\"


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class EventRepository(Repository[EventRow]):
    model = EventRow

    async def page(
        self,
        *,
        user_id: uuid.UUID | None,
        after: uuid.UUID | None,
        since: uuid.UUID | None,
        before: uuid.UUID | None,
        names: Sequence[str],
        prefixes: Sequence[str],
        limit: int,
    ) -> Sequence[EventRow]:
        """Oldest first, by id (a UUIDv7), at most `limit` rows; every user's when `user_id`
        is None. `since` and `before` are id bounds (inclusive, exclusive)."""
        statement = self.statement() if user_id is None else self.scoped(user_id)
        if after is not None:
            statement = statement.where(EventRow.id > after)
        if since is not None:
            statement = statement.where(EventRow.id >= since)
        if before is not None:
            statement = statement.where(EventRow.id < before)
        kinds: list[ColumnElement[bool]] = []
        if names:
            kinds.append(EventRow.type.in_(names))
        kinds += [
            EventRow.type.like(_like_prefix(prefix), escape=LIKE_ESCAPE) for prefix in prefixes
        ]
        if kinds:
            statement = statement.where(or_(*kinds))
        return await self.all(statement.order_by(EventRow.id).limit(limit))
