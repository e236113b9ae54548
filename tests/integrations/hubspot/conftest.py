"""The HubSpot sandbox in-process, and connectors wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hubspot_helpers import Clock, ClockSleep, ConnectorFactory, token_credentials
from pydantic import SecretStr

from gigforge.integrations.framework import (
    Credentials,
    IntegrationRuntime,
    OAuth2Credentials,
)
from gigforge.integrations.hubspot import SPEC, HubSpotConfig, HubSpotConnector
from gigforge.integrations.hubspot.sandbox import (
    CLIENT_SECRET,
    PRIVATE_APP_TOKEN,
    HubSpotSandbox,
    create_sandbox,
)
from gigforge.integrations.hubspot.spec import SCOPES
from sandbox_support import SandboxTokens

SANDBOX_URL = "http://sandbox"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> HubSpotSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def sleep(clock: Clock) -> ClockSleep:
    return ClockSleep(clock)


@pytest.fixture
def runtime(sleep: ClockSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
def config() -> HubSpotConfig:
    return HubSpotConfig(
        access_token=SecretStr(PRIVATE_APP_TOKEN), client_secret=SecretStr(CLIENT_SECRET)
    )


@pytest.fixture
async def make_connector(
    sandbox: HubSpotSandbox, runtime: IntegrationRuntime, config: HubSpotConfig
) -> AsyncIterator[ConnectorFactory]:
    clients: list[httpx.AsyncClient] = []

    def build(
        credentials: Credentials,
        *,
        connector_class: type[HubSpotConnector] = HubSpotConnector,
        inner: httpx.AsyncBaseTransport | None = None,
        with_config: HubSpotConfig | None = None,
    ) -> HubSpotConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=credentials,
            inner=inner or httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return connector_class(client, with_config or config)

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> HubSpotConnector:
    """Signed in with the private app's token."""
    return make_connector(token_credentials())


@pytest.fixture
def tokens(sandbox: HubSpotSandbox) -> SandboxTokens:
    return SandboxTokens(
        sandbox.app,
        token_url="/oauth/v1/token",
        client_id=sandbox.oauth.client_id,
        client_secret=sandbox.oauth.client_secret,
        issued=sandbox.oauth.issue(" ".join(SCOPES)),
    )


@pytest.fixture
def oauth_connector(tokens: SandboxTokens, make_connector: ConnectorFactory) -> HubSpotConnector:
    return make_connector(OAuth2Credentials(tokens))
