"""The Anthropic connector wired as production wires it: the runtime's client with the policy
layer and the spec's `x-api-key` credentials, its transport pointed in-process at the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from gigforge.integrations.anthropic import SPEC, AnthropicConfig, AnthropicConnector
from gigforge.integrations.anthropic.sandbox import (
    SANDBOX_API_KEY,
    AnthropicSandbox,
    create_sandbox,
)
from gigforge.integrations.framework import (
    HeaderCredentials,
    IntegrationRuntime,
    static_secret,
)
from sandbox_support import RecordedSleep

SANDBOX_URL = "http://sandbox"


@pytest.fixture
def sleep() -> RecordedSleep:
    """What the policy layer waited for, in order; nothing waits for real."""
    return RecordedSleep()


@pytest.fixture
def delays(sleep: RecordedSleep) -> list[float]:
    return sleep.delays


@pytest.fixture
def runtime(sleep: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
def sandbox() -> AnthropicSandbox:
    return create_sandbox()


@pytest.fixture
async def connect(
    runtime: IntegrationRuntime, sandbox: AnthropicSandbox
) -> AsyncIterator[Callable[..., AnthropicConnector]]:
    """`connect(api_key=..., **config)`: a connector on a fresh policy-layer client."""
    clients: list[httpx.AsyncClient] = []

    def build(
        *,
        api_key: str = SANDBOX_API_KEY,
        base_url: str | None = None,
        app: Any = None,
        inner: httpx.AsyncBaseTransport | None = None,
        **config: Any,
    ) -> AnthropicConnector:
        client = runtime.client(
            SPEC.rebased(base_url or SANDBOX_URL),
            connection="test",
            credentials=HeaderCredentials(
                static_secret(api_key),
                header=SPEC.credential_header,
                scheme=SPEC.credential_scheme,
            ),
            inner=inner or httpx.ASGITransport(app=app or sandbox.app),
        )
        clients.append(client)
        return AnthropicConnector(client, AnthropicConfig(api_key=SecretStr(api_key), **config))

    yield build
    for client in clients:
        await client.aclose()
