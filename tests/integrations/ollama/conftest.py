"""The Ollama connector wired as production wires it: the runtime's client with the policy
layer and no credentials, its transport pointed in-process at the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.ollama import SPEC, OllamaConfig, OllamaConnector
from gigforge.integrations.ollama.sandbox import OllamaSandbox, create_sandbox
from sandbox_support import RecordedSleep

SANDBOX_URL = "http://sandbox"


@pytest.fixture
def sleep() -> RecordedSleep:
    """What the policy layer waited for, in order; nothing waits for real."""
    return RecordedSleep()


@pytest.fixture
def sandbox() -> OllamaSandbox:
    return create_sandbox()


@pytest.fixture
async def connect(
    sleep: RecordedSleep, sandbox: OllamaSandbox
) -> AsyncIterator[Callable[..., OllamaConnector]]:
    """`connect(base_url=..., inner=..., **config)`: a connector on a fresh policy-layer client,
    reaching the sandbox unless another transport is given."""
    runtime = IntegrationRuntime(sleep=sleep)
    clients: list[httpx.AsyncClient] = []

    def build(
        *,
        base_url: str | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        **config: Any,
    ) -> OllamaConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            base_url=base_url,
            inner=inner or httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return OllamaConnector(client, OllamaConfig(**config))

    yield build
    for client in clients:
        await client.aclose()
