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
    TokenRefresher,
    static_secret,
)
from gigforge.integrations.freelancer import SPEC, FreelancerConfig, FreelancerConnector
from gigforge.integrations.freelancer.sandbox import FreelancerSandbox, create_sandbox

SANDBOX_URL = "http://sandbox"
BIDDING_SCOPES = "basic fln:project_manage"


class Clock:
    """The sandbox's time: still unless a test moves it."""

    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class RecordedSleep:
    """Stands in for asyncio.sleep: remembers each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class SandboxTokens(TokenRefresher):
    """What the connections package does, reduced to the sandbox: hold one token pair and
    renew it at the sandbox's token endpoint with the refresh grant."""

    def __init__(self, sandbox: FreelancerSandbox, issued: dict[str, object]) -> None:
        self.sandbox = sandbox
        self.access = str(issued["access_token"])
        self.refresh = str(issued["refresh_token"])
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.access

    async def force_refresh(self, rejected_token: str) -> bool:
        if rejected_token != self.access:
            return True
        transport = httpx.ASGITransport(app=self.sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL) as client:
            response = await client.post(
                "/oauth/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh,
                    "client_id": self.sandbox.oauth.client_id,
                    "client_secret": self.sandbox.oauth.client_secret,
                },
            )
        if response.status_code != 200:
            return False
        body = response.json()
        self.access, self.refresh = body["access_token"], body["refresh_token"]
        self.refreshes += 1
        return True


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
    """Signed in with a token that carries the bidding scope."""
    token = str(sandbox.oauth.issue(BIDDING_SCOPES)["access_token"])
    return make_connector(header_credentials(token))


@pytest.fixture
def tokens(sandbox: FreelancerSandbox) -> SandboxTokens:
    return SandboxTokens(sandbox, sandbox.oauth.issue(BIDDING_SCOPES))


@pytest.fixture
def oauth_connector(tokens: SandboxTokens, make_connector: ConnectorFactory) -> FreelancerConnector:
    return make_connector(OAuth2Credentials(tokens, header="Freelancer-OAuth-V1", scheme=""))
