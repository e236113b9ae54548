"""Fixtures for the IMAP alert tests: the dovecot server (see `imap_alerts_support`), a
fresh folder per test, configs pointing at both, and connectors built as `connections` builds
them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from imap_alerts_support import PASSWORD, USERNAME, Dovecot, Folder, running_dovecot
from pydantic import SecretStr

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.imap_alerts import SPEC, IMAPAlertsConfig, IMAPAlertsConnector
from gigforge.kit.ssrf import AddressGuard


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture
def folder(dovecot: Dovecot) -> Folder:
    created = Folder(dovecot, f"Gigforge-{uuid.uuid4().hex[:10]}")
    created.create()
    return created


@pytest.fixture
def settings(dovecot: Dovecot, folder: Folder) -> Callable[..., IMAPAlertsConfig]:
    def make(**overrides: Any) -> IMAPAlertsConfig:
        values: dict[str, Any] = {
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": USERNAME,
            "password": SecretStr(PASSWORD),
            "folder": folder.name,
            "timeout_seconds": 10.0,
        }
        return IMAPAlertsConfig(**{**values, **overrides})

    return make


@pytest.fixture
async def connector_for() -> AsyncIterator[Callable[[IMAPAlertsConfig], IMAPAlertsConnector]]:
    """Connectors built as `connections` builds them, with a runtime client they never use
    for HTTP; its guard lets them reach the test server on loopback, as an admin's allow-list
    would."""
    runtime = IntegrationRuntime(guard=AddressGuard(allowed=["127.0.0.1/32"]))
    made: list[IMAPAlertsConnector] = []

    def make(config: IMAPAlertsConfig) -> IMAPAlertsConnector:
        connector = IMAPAlertsConnector(runtime.client(SPEC, connection="test"), config)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.client.aclose()
