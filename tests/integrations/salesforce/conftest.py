"""The Salesforce sandbox in-process, and connectors wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from salesforce_support import (
    SANDBOX_URL,
    Clock,
    ConnectorFactory,
    SalesforceTokens,
    bearer,
)
from starlette.types import ASGIApp

from gigforge.integrations.framework import Credentials, IntegrationRuntime, OAuth2Credentials
from gigforge.integrations.salesforce import SPEC, SalesforceConfig, SalesforceConnector
from gigforge.integrations.salesforce.sandbox import SalesforceSandbox, create_sandbox
from sandbox_support import RecordedSleep


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> SalesforceSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def runtime(sleep: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
async def make_connector(
    sandbox: SalesforceSandbox, runtime: IntegrationRuntime, clock: Clock
) -> AsyncIterator[ConnectorFactory]:
    clients: list[httpx.AsyncClient] = []

    def build(
        credentials: Credentials,
        *,
        on: SalesforceSandbox | None = None,
        app: ASGIApp | None = None,
    ) -> SalesforceConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=credentials,
            inner=httpx.ASGITransport(app=app or (on or sandbox).app),
        )
        clients.append(client)
        connector = SalesforceConnector(client, SalesforceConfig())
        connector.clock = clock
        return connector

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def connector(sandbox: SalesforceSandbox, make_connector: ConnectorFactory) -> SalesforceConnector:
    return make_connector(bearer(sandbox))


@pytest.fixture
def tokens(sandbox: SalesforceSandbox) -> SalesforceTokens:
    return SalesforceTokens(sandbox)


@pytest.fixture
def oauth_connector(
    tokens: SalesforceTokens, make_connector: ConnectorFactory
) -> SalesforceConnector:
    return make_connector(OAuth2Credentials(tokens))
