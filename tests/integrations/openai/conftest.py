"""The OpenAI connector wired as production wires it: the runtime's client with the policy
layer and bearer credentials, its transport pointed in-process at the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gigforge.integrations.framework import (
    HeaderCredentials,
    IntegrationRuntime,
    static_secret,
)
from gigforge.integrations.openai import SPEC, OpenAIConfig, OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, OpenAISandbox, create_sandbox

SANDBOX_URL = "http://sandbox"


@pytest.fixture
def delays() -> list[float]:
    """What the policy layer waited for, in order; nothing waits for real."""
    return []


@pytest.fixture
def runtime(delays: list[float]) -> IntegrationRuntime:
    async def sleep(delay: float) -> None:
        delays.append(delay)

    return IntegrationRuntime(sleep=sleep)


@pytest.fixture
def sandbox() -> OpenAISandbox:
    return create_sandbox()


@pytest.fixture
async def connect(
    runtime: IntegrationRuntime, sandbox: OpenAISandbox
) -> AsyncIterator[Callable[..., OpenAIConnector]]:
    """`connect(api_key=..., **config)`: a connector on a fresh policy-layer client."""
    clients: list[httpx.AsyncClient] = []

    def build(
        *,
        api_key: str = SANDBOX_API_KEY,
        base_url: str | None = None,
        app: Any = None,
        **config: Any,
    ) -> OpenAIConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=HeaderCredentials(static_secret(api_key)),
            base_url=base_url,
            inner=httpx.ASGITransport(app=app or sandbox.app),
        )
        clients.append(client)
        return OpenAIConnector(client, OpenAIConfig(api_key=api_key, **config))

    yield build
    for client in clients:
        await client.aclose()
