"""Answers to identical requests, kept in memory in front of the ai_cache table."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.ai.models import AICacheEntry

CACHE_TTL = timedelta(days=7)
MAX_CACHED_ANSWERS = 2048
WARM_ANSWERS = 256  # a user's freshest cached answers read into memory at a refresh


@dataclass(frozen=True)
class CachedAnswer:
    user_id: uuid.UUID
    integration: str
    model: str
    text: str
    created_at: datetime


class AnswerCache:
    """Answers to identical (masked) requests: a bounded LRU in front of the ai_cache table.

    Every answer is written through to the table (by the writer), and a user's fresh rows are
    read into memory at the user's first call in this process and, from then on, the newer ones
    at each refresh (REFRESH_SECONDS). So a miss never costs a query, and an answer another
    process stored is found here at most a refresh after its writer wrote it. Keys hash the
    user's id with the masked request, and a hit is checked against the user and CACHE_TTL, so
    no answer is served across users, to another request, or after it expired.
    """

    def __init__(self, capacity: int = MAX_CACHED_ANSWERS) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()

    def get(self, key: str, user_id: uuid.UUID, now: datetime) -> CachedAnswer | None:
        found = self._entries.get(key)
        if found is None or found.user_id != user_id:
            return None
        if now - found.created_at >= CACHE_TTL:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found

    def put(self, key: str, answer: CachedAnswer) -> None:
        self._entries[key] = answer
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    async def warm(self, session: AsyncSession, user_id: uuid.UUID, *, since: datetime) -> None:
        rows = await session.execute(
            select(
                AICacheEntry.key,
                AICacheEntry.integration,
                AICacheEntry.model,
                AICacheEntry.text,
                AICacheEntry.created_at,
            )
            .where(AICacheEntry.user_id == user_id, AICacheEntry.created_at > since)
            .order_by(AICacheEntry.created_at.desc())
            .limit(WARM_ANSWERS)
        )
        for key, integration, model, text, created_at in reversed(rows.all()):
            if key not in self._entries:
                self.put(key, CachedAnswer(user_id, integration, model, text, created_at))
