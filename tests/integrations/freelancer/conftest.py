"""The Freelancer sandbox in-process, and connectors wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import SecretStr

from gigforge.integrations.framework import (
    Credentials,
    HeaderCredentials,
    IntegrationRuntime,
    OAuth2Credentials,
    static_secret,
)
from gigforge.integrations.freelancer import SPEC, FreelancerConfig, FreelancerConnector
from gigforge.integrations.freelancer.sandbox import FreelancerSandbox, create_sandbox
from sandbox_support import RecordedSleep, SandboxTokens

SANDBOX_URL = "http://sandbox"
BIDDING_SCOPES = "basic fln:project_manage fln:messaging"


class Clock:
    """The sandbox's time: still unless a test moves it."""

    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> FreelancerSandbox:
    return create_sandbox(clock=clock)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def runtime(sleep: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
def config() -> FreelancerConfig:
    return FreelancerConfig(client_id="sandbox-client", client_secret=SecretStr("sandbox-secret"))


ConnectorFactory = Callable[[Credentials], FreelancerConnector]


@pytest.fixture
async def make_connector(
    sandbox: FreelancerSandbox, runtime: IntegrationRuntime, config: FreelancerConfig
) -> AsyncIterator[ConnectorFactory]:
    clients: list[httpx.AsyncClient] = []

    def build(credentials: Credentials) -> FreelancerConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=credentials,
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return FreelancerConnector(client, config)

    yield build
    for client in clients:
        await client.aclose()


def header_credentials(token: str) -> HeaderCredentials:
    return HeaderCredentials(static_secret(token), header="Freelancer-OAuth-V1", scheme="")


@pytest.fixture
def connector(sandbox: FreelancerSandbox, make_connector: ConnectorFactory) -> FreelancerConnector:
    """Signed in with a token that carries the bidding and messaging scopes."""
    token = str(sandbox.oauth.issue(BIDDING_SCOPES)["access_token"])
    return make_connector(header_credentials(token))


@pytest.fixture
def tokens(sandbox: FreelancerSandbox) -> SandboxTokens:
    return SandboxTokens(
        sandbox.app,
        token_url="/oauth/token",
        client_id=sandbox.oauth.client_id,
        client_secret=sandbox.oauth.client_secret,
        issued=sandbox.oauth.issue(BIDDING_SCOPES),
    )


@pytest.fixture
def oauth_connector(tokens: SandboxTokens, make_connector: ConnectorFactory) -> FreelancerConnector:
    return make_connector(OAuth2Credentials(tokens, header="Freelancer-OAuth-V1", scheme=""))
