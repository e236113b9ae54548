"""Facts about a user that other domains own, for the profile (`/users/me`).

Fields such as `certification_level` belong to domains that build on accounts (they import
accounts, so accounts cannot import them back). Each such domain names a provider here, in its
service module: `@profile_facts.provider("certification_level")`. The profile asks every
provider; a field keeps its schema default while no provider for it is loaded.

Reading the profile costs no query while nothing changed, like the sign-in check it follows
(`sign_in_cache`): the facts are kept per process with SQLite's change counter read before
they were gathered, and each provider says until when its answer holds without any commit (a
certification's expiry, say). Any commit anywhere, or that moment passing, gathers them again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.sign_in_cache import MAX_ENTRIES, Stamp, stamp_for
from gigforge.kit.clock import utcnow


@dataclass(frozen=True)
class Fact:
    value: Any
    # Until when `value` holds if nothing is committed meanwhile; None: until the next commit.
    fresh_until: datetime | None = None


Provider = Callable[[AsyncSession, uuid.UUID], Awaitable[Fact]]


@dataclass(frozen=True)
class _Gathered:
    stamp: int
    values: dict[str, Any]
    fresh_until: datetime | None


class ProfileFacts:
    """The registry of providers (one for the process: providers are module functions)."""

    def __init__(self) -> None:
        self._providers: dict[str, Provider] = {}

    def provider(self, field: str) -> Callable[[Provider], Provider]:
        def register(function: Provider) -> Provider:
            self._providers[field] = function
            return function

        return register

    async def gather(
        self, session: AsyncSession, user_id: uuid.UUID
    ) -> tuple[dict[str, Any], datetime | None]:
        values: dict[str, Any] = {}
        fresh: list[datetime] = []
        for field, provide in self._providers.items():
            fact = await provide(session, user_id)
            values[field] = fact.value
            if fact.fresh_until is not None:
                fresh.append(fact.fresh_until)
        return values, min(fresh, default=None)


profile_facts = ProfileFacts()


class ProfileFactsCache:
    """Per process and per database; see the module docstring for why it is safe."""

    def __init__(self, stamp: Stamp, *, max_entries: int = MAX_ENTRIES) -> None:
        self._stamp = stamp
        self._max_entries = max_entries
        self._gathered: dict[uuid.UUID, _Gathered] = {}

    @classmethod
    def for_database(cls, url: str) -> ProfileFactsCache:
        return cls(stamp_for(url))

    async def of(self, session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
        kept = self._gathered.get(user_id)
        if (
            kept is not None
            and kept.stamp == self._stamp()
            and (kept.fresh_until is None or kept.fresh_until > utcnow())
        ):
            return kept.values
        stamp = self._stamp()
        values, fresh_until = await profile_facts.gather(session, user_id)
        if stamp is not None:
            while len(self._gathered) >= self._max_entries:
                del self._gathered[next(iter(self._gathered))]
            self._gathered[user_id] = _Gathered(stamp, values, fresh_until)
        return values
