"""The Jira sandbox in-process, and connectors wired to it through the real policy layer: one
signed in with an API token (HTTP Basic, as the connection service sends it) and one with
OAuth 2.0 tokens that renew at the sandbox's token endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from jira_support import SANDBOX_URL, Clock, ConnectorFactory, basic_credentials, token_config

from gigforge.integrations.framework import (
    Credentials,
    IntegrationRuntime,
    OAuth2Credentials,
)
from gigforge.integrations.jira import SPEC, JiraConfig, JiraConnector
from gigforge.integrations.jira.sandbox import (
    JiraSandbox,
    create_sandbox,
)
from gigforge.integrations.jira.spec import SCOPES
from sandbox_support import RecordedSleep, SandboxTokens


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> JiraSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def runtime(sleep: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
async def make_connector(
    sandbox: JiraSandbox, runtime: IntegrationRuntime
) -> AsyncIterator[ConnectorFactory]:
    clients: list[httpx.AsyncClient] = []

    def build(
        config: JiraConfig,
        credentials: Credentials,
        *,
        connector_class: type[JiraConnector] = JiraConnector,
        base_url: str = SANDBOX_URL,
    ) -> JiraConnector:
        client = runtime.client(
            SPEC.rebased(base_url),
            connection="test",
            credentials=credentials,
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        # As the connection service does: the connector sees the public fields only.
        public = config.model_dump(exclude={"api_token", "basic_credentials"})
        return connector_class(client, JiraConfig.model_construct(**public))

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def jira(make_connector: ConnectorFactory) -> JiraConnector:
    """Signed in with the sandbox user's API token, against the site."""
    config = token_config()
    return make_connector(config, basic_credentials(config))


@pytest.fixture
def tokens(sandbox: JiraSandbox) -> SandboxTokens:
    return SandboxTokens(
        sandbox.app,
        token_url="/oauth/token",
        client_id=sandbox.oauth.client_id,
        client_secret=sandbox.oauth.client_secret,
        issued=sandbox.oauth.issue(" ".join(SCOPES)),
    )


@pytest.fixture
def oauth_jira(tokens: SandboxTokens, make_connector: ConnectorFactory) -> JiraConnector:
    """Signed in through OAuth 2.0 (3LO): calls go through /ex/jira/{cloudid}."""
    return make_connector(JiraConfig(), OAuth2Credentials(tokens))
