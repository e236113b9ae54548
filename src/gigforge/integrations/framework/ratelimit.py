"""Rate budgets and quotas per (integration, connection), in memory or shared through Redis.

Budgets use the `limits` library's sliding-window counters, so "10/second" and "1000/day" mean
what they say on one process (memory) or across many (Redis). Windows of an hour or more are
quotas: crossing 80%, 95% and 100% of one tells the runtime's quota listener once per window
(checked every 1% of the quota, so a crossing is seen within 1% of its threshold). The
provider's own remaining/reset headers tighten the budget: when it says nothing is left, we wait
for its reset instead of spending a request on a 429.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from gigforge.integrations.framework.metrics import IntegrationMetrics

QUOTA_THRESHOLDS = (0.8, 0.95, 1.0)
QUOTA_MIN_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class QuotaCrossed:
    """A connection's spending crossed 80, 95 or 100% of an hourly-or-longer quota."""

    integration: str
    connection: str
    limit: str
    threshold_percent: int
    used_percent: float
    #: When the window frees room again: what a "quota reached" notice shows.
    resets_at: datetime


#: Told of each crossing once per window; it records it (`connections.quota.QuotaNotices`).
QuotaListener = Callable[[QuotaCrossed], Awaitable[None]]


@dataclass(frozen=True)
class Admission:
    """Whether a call may go now, and if not, how long until it may."""

    allowed: bool
    wait_seconds: float = 0.0
    limit: str | None = None


def storage_from_url(url: str | None) -> Storage:
    """`None` keeps budgets in this process; `redis://...` shares them across processes."""
    if url is None:
        return MemoryStorage()
    if url.startswith(("redis://", "rediss://")):
        return RedisStorage(f"async+{url}", implementation="redispy", key_prefix="gigforge")
    raise ValueError(f"unsupported rate-limit storage URL scheme: {url.split(':', 1)[0]}")


class RateBudget:
    def __init__(
        self,
        storage: Storage,
        *,
        on_quota: QuotaListener | None = None,
        metrics: IntegrationMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.on_quota = on_quota
        self.metrics = metrics
        self._hits_since_check: dict[str, int] = {}
        self._clock = clock

    async def admit(self, key: str, limits: Sequence[RateLimitItem]) -> Admission:
        """Take one unit from every limit, or say how long to wait for the first that is spent."""
        blocked = await self._provider_block(key)
        if blocked > 0:
            return Admission(False, blocked, "provider reported no remaining calls")
        for item in limits:
            # `hit` checks and takes in one step; a later limit refusing leaves the earlier
            # ones charged, which errs on the side of calling the provider less.
            if not await self.limiter.hit(item, key):
                stats = await self.limiter.get_window_stats(item, key)
                wait = max(0.01, stats.reset_time - self._clock())
                return Admission(False, wait, str(item))
        for item in limits:
            if item.get_expiry() >= QUOTA_MIN_WINDOW_SECONDS and self._due_for_check(key, item):
                await self._quota_events(key, item)
        return Admission(True)

    def _due_for_check(self, key: str, item: RateLimitItem) -> bool:
        """Read quota use every 1% of the quota, not on every call: thresholds are reported
        within 1% of where they lie, for a fraction of the storage reads."""
        marker = f"{key}/{item.key_for()}"
        hits = self._hits_since_check.get(marker, 0) + 1
        if hits >= max(1, item.amount // 100):
            self._hits_since_check[marker] = 0
            return True
        self._hits_since_check[marker] = hits
        return False

    async def observe(
        self, key: str, *, remaining: int | None, reset_seconds: float | None
    ) -> None:
        """Remember a provider's 'nothing left until reset' so the next call waits first."""
        if remaining is not None and remaining <= 0 and reset_seconds and reset_seconds > 0:
            await self.storage.clear(self._block_key(key))
            await self.storage.incr(self._block_key(key), expiry=math.ceil(reset_seconds))

    async def _provider_block(self, key: str) -> float:
        block_key = self._block_key(key)
        if await self.storage.get(block_key) <= 0:
            return 0.0
        return max(0.0, await self.storage.get_expiry(block_key) - self._clock())

    async def _quota_events(self, key: str, item: RateLimitItem) -> None:
        stats = await self.limiter.get_window_stats(item, key)
        used = (item.amount - stats.remaining) / item.amount
        integration, _, connection = key.partition(":")
        if self.metrics is not None:
            self.metrics.quota_used.labels(integration, connection, str(item)).set(used)
        if self.on_quota is None:
            return
        for threshold in QUOTA_THRESHOLDS:
            if used + 1e-9 < threshold:
                break
            marker = f"{key}/quota/{item.key_for()}/{int(threshold * 100)}"
            # One event per threshold per window: the marker lives as long as the window.
            if await self.storage.incr(marker, expiry=item.get_expiry()) == 1:
                await self.on_quota(
                    QuotaCrossed(
                        integration=integration,
                        connection=connection,
                        limit=str(item),
                        threshold_percent=int(threshold * 100),
                        used_percent=round(used * 100, 1),
                        resets_at=datetime.fromtimestamp(stats.reset_time, UTC),
                    )
                )

    @staticmethod
    def _block_key(key: str) -> str:
        return f"{key}/provider-block"


Sleep = Callable[[float], Awaitable[None]]
