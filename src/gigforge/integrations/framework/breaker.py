"""A circuit breaker per integration: stop calling a provider that keeps failing, probe later."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


class CircuitBreaker:
    """Opens after `threshold` failures within `window` seconds; after `cooldown` one probe
    goes through, and its success closes the breaker (its failure re-opens it)."""

    def __init__(
        self,
        *,
        threshold: int = 10,
        window: float = 60.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.cooldown = cooldown
        self._clock = clock
        self._failures: deque[float] = deque()
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.closed
        if self._probing or self._clock() - self._opened_at >= self.cooldown:
            return BreakerState.half_open
        return BreakerState.open

    def retry_in(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state only the first caller (the probe) may."""
        if self._opened_at is None:
            return True
        if self._probing or self._clock() - self._opened_at < self.cooldown:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self._failures.clear()
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        now = self._clock()
        if self._probing:
            self._opened_at = now
            self._probing = False
            return
        self._failures.append(now)
        while self._failures and now - self._failures[0] > self.window:
            self._failures.popleft()
        if len(self._failures) >= self.threshold:
            self._opened_at = now
            self._failures.clear()


class BreakerBoard:
    """The process's breakers, one per integration slug."""

    def __init__(
        self,
        *,
        threshold: int = 10,
        window: float = 60.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._window = window
        self._cooldown = cooldown
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, integration: str) -> CircuitBreaker:
        if integration not in self._breakers:
            self._breakers[integration] = CircuitBreaker(
                threshold=self._threshold,
                window=self._window,
                cooldown=self._cooldown,
                clock=self._clock,
            )
        return self._breakers[integration]
