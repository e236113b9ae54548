"""The Upwork sandbox in-process, and connectors wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from upwork_helpers import SANDBOX_SPEC, Connect, RecordedSleep, SandboxTokens

from gigforge.integrations.framework import (
    Credentials,
    HeaderCredentials,
    IntegrationRuntime,
    static_secret,
)
from gigforge.integrations.upwork import UpworkConfig, UpworkConnector
from gigforge.integrations.upwork.sandbox import UpworkSandbox, create_sandbox


def default_config() -> UpworkConfig:
    return UpworkConfig(
        client_id="sandbox-client-id",
        client_secret=SecretStr("sandbox-client-secret"),
    )


@pytest.fixture
def sandbox() -> UpworkSandbox:
    return create_sandbox()


@pytest.fixture
def tokens(sandbox: UpworkSandbox) -> SandboxTokens:
    assert SANDBOX_SPEC.oauth is not None
    return SandboxTokens(
        sandbox.app,
        token_url=SANDBOX_SPEC.oauth.token_url,
        client_id=sandbox.oauth.client_id,
        client_secret=sandbox.oauth.client_secret,
        issued=sandbox.issue_tokens(),
    )


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def runtime(sleeps: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleeps)


@pytest.fixture
async def connect(sandbox: UpworkSandbox, runtime: IntegrationRuntime) -> AsyncIterator[Connect]:
    """Builds connectors on the sandbox; by default with a fresh bearer token."""
    clients: list[httpx.AsyncClient] = []

    def build(
        credentials: Credentials | None = None, settings: UpworkConfig | None = None
    ) -> UpworkConnector:
        if credentials is None:
            token = str(sandbox.issue_tokens()["access_token"])
            credentials = HeaderCredentials(static_secret(token))
        client = runtime.client(
            SANDBOX_SPEC,
            connection="test",
            credentials=credentials,
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return UpworkConnector(client, settings or default_config())

    yield build
    for client in clients:
        await client.aclose()
