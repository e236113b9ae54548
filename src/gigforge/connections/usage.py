"""How much of each connection's rate limits and quotas the current windows have used.

The counts are the policy layer's own: every call to a provider takes one unit from each of
its spec's limits (`RateBudget.admit`), counted per connection in sliding windows. They are read
from the budget's storage, so they are exact for this process with the default in-memory
storage and for every process when `redis_url` shares the budgets; a separate worker process
without Redis counts its calls in its own memory. A quota spent in any process is also on the
connection row (`quota_reached_until`, from the quota notices), which is shown as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from limits import RateLimitItem
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.connections.repository import ConnectionRepository
from gigforge.integrations.framework import IntegrationSpec
from gigforge.integrations.framework.ratelimit import QUOTA_MIN_WINDOW_SECONDS
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import GigforgeError

_PERIODS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


@dataclass(frozen=True)
class WindowUsage:
    """One limit of a connection: calls counted in its current window."""

    limit: str
    amount: int
    used: int
    window: str
    is_quota: bool

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.amount)) if self.amount else 0


@dataclass(frozen=True)
class ConnectionUsage:
    connection: Connection
    title: str
    windows: Sequence[WindowUsage]
    quota_reached_until: datetime | None


def window_name(item: RateLimitItem) -> str:
    seconds = item.get_expiry()
    if seconds in _PERIODS and item.multiples == 1:
        return _PERIODS[seconds]
    return f"{seconds:,} seconds"


def _spec(context: IntegrationContext, slug: str) -> IntegrationSpec | None:
    try:
        return context.spec_for(slug)
    except GigforgeError:
        unavailable = context.registry.unavailable_one(slug)
        return unavailable.spec if unavailable is not None else None


class ConnectionUsageService:
    async def windows(
        self, session: AsyncSession, principal: Principal, *, context: IntegrationContext
    ) -> list[ConnectionUsage]:
        """Every connection of the user with its limits' use in the current windows."""
        limiter = context.runtime.budget.limiter
        rows = await ConnectionRepository(session).in_fallback_order(principal.user_id)
        now = utcnow()
        found = []
        for connection in sorted(rows, key=lambda row: (row.integration, row.name)):
            spec = _spec(context, connection.integration)
            key = f"{connection.integration}:{connection.id}"
            windows = []
            for item in spec.parsed_limits() if spec is not None else ():
                stats = await limiter.get_window_stats(item, key)
                windows.append(
                    WindowUsage(
                        limit=str(item),
                        amount=item.amount,
                        used=max(0, item.amount - stats.remaining),
                        window=window_name(item),
                        is_quota=item.get_expiry() >= QUOTA_MIN_WINDOW_SECONDS,
                    )
                )
            until = connection.quota_reached_until
            found.append(
                ConnectionUsage(
                    connection=connection,
                    title=spec.title if spec is not None else connection.integration,
                    windows=windows,
                    quota_reached_until=until if until is not None and until > now else None,
                )
            )
        return found


connection_usage = ConnectionUsageService()
