"""Helpers the HubSpot tests share: a still clock, a sleep that moves it, credentials."""

from __future__ import annotations

from collections.abc import Callable

from gigforge.integrations.framework import HeaderCredentials, static_secret
from gigforge.integrations.hubspot import SPEC, HubSpotConnector
from gigforge.integrations.hubspot.sandbox import PRIVATE_APP_TOKEN


class Clock:
    """The sandbox's time: still unless a test (or a wait) moves it."""

    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ClockSleep:
    """Stands in for asyncio.sleep: records each delay and moves the sandbox's clock by it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.clock.now += seconds


ConnectorFactory = Callable[..., HubSpotConnector]


def token_credentials(token: str = PRIVATE_APP_TOKEN) -> HeaderCredentials:
    """What a connection made with a private app's token sends (the spec's header)."""
    return HeaderCredentials(
        static_secret(token), header=SPEC.credential_header, scheme=SPEC.credential_scheme
    )
