"""The Asana sandbox in-process, and connectors wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asana_support import SANDBOX_URL, Clock, ConnectorFactory, pat_credentials

from gigforge.integrations.asana import SPEC, AsanaConfig, AsanaConnector
from gigforge.integrations.asana.sandbox import AsanaSandbox, create_sandbox
from gigforge.integrations.framework import (
    Credentials,
    IntegrationRuntime,
    OAuth2Credentials,
)
from sandbox_support import RecordedSleep, SandboxTokens


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> AsanaSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def runtime(sleep: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
async def make_connector(
    sandbox: AsanaSandbox, runtime: IntegrationRuntime
) -> AsyncIterator[ConnectorFactory]:
    clients: list[httpx.AsyncClient] = []

    def build(credentials: Credentials, config: AsanaConfig | None = None) -> AsanaConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=credentials,
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return AsanaConnector(client, config or AsanaConfig())

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> AsanaConnector:
    """Signed in with the sandbox user's personal access token."""
    return make_connector(pat_credentials())


@pytest.fixture
def tokens(sandbox: AsanaSandbox) -> SandboxTokens:
    return SandboxTokens(
        sandbox.app,
        token_url="/-/oauth_token",
        client_id=sandbox.oauth.client_id,
        client_secret=sandbox.oauth.client_secret,
        issued=sandbox.oauth.issue(""),
    )


@pytest.fixture
def oauth_connector(tokens: SandboxTokens, make_connector: ConnectorFactory) -> AsanaConnector:
    return make_connector(OAuth2Credentials(tokens))
