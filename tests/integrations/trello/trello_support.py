"""Test doubles for the Trello tests: the sandbox's clock and a sleep that lets it pass."""

from __future__ import annotations

import time
from collections.abc import Callable

from gigforge.integrations.trello import TrelloConnector

ConnectorFactory = Callable[..., TrelloConnector]


class Clock:
    """The sandbox's time: now, standing still unless a test moves it."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class PassingSleep:
    """Stands in for asyncio.sleep: remembers each delay and lets the sandbox's time pass
    by a whole rate-limit window, as a real wait would."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.advance(10)
