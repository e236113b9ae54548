"""Helpers the Asana tests share: the sandbox's clock, the connector factory type, a PAT."""

from __future__ import annotations

from collections.abc import Callable

from gigforge.integrations.asana import SPEC, AsanaConnector
from gigforge.integrations.asana.sandbox import SANDBOX_PAT
from gigforge.integrations.framework import HeaderCredentials, static_secret

SANDBOX_URL = "http://sandbox"


class Clock:
    """The sandbox's time: still unless a test moves it."""

    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


ConnectorFactory = Callable[..., AsanaConnector]


def pat_credentials(token: str = SANDBOX_PAT) -> HeaderCredentials:
    return HeaderCredentials(
        static_secret(token), header=SPEC.credential_header, scheme=SPEC.credential_scheme
    )
