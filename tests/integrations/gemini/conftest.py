"""The Gemini connector wired as production wires it: the runtime's client with the policy
layer and the key in `x-goog-api-key`, its transport pointed in-process at the sandbox."""

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
from gigforge.integrations.gemini import SPEC, GeminiConfig, GeminiConnector
from gigforge.integrations.gemini.sandbox import SANDBOX_API_KEY, GeminiSandbox, create_sandbox
from sandbox_support import RecordedSleep

SANDBOX_URL = "http://sandbox"


@pytest.fixture
def sleep() -> RecordedSleep:
    """What the policy layer waited for, in order; nothing waits for real."""
    return RecordedSleep()


@pytest.fixture
def sandbox() -> GeminiSandbox:
    return create_sandbox()


@pytest.fixture
async def connect(
    sleep: RecordedSleep, sandbox: GeminiSandbox
) -> AsyncIterator[Callable[..., GeminiConnector]]:
    """`connect(api_key=..., sandbox=..., base_url=..., app=...)`: a connector on a fresh
    policy-layer client."""
    runtime = IntegrationRuntime(sleep=sleep)
    clients: list[httpx.AsyncClient] = []

    def build(
        *,
        api_key: str = SANDBOX_API_KEY,
        base_url: str | None = None,
        app: Any = None,
    ) -> GeminiConnector:
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=HeaderCredentials(
                static_secret(api_key),
                header=SPEC.credential_header,
                scheme=SPEC.credential_scheme,
            ),
            base_url=base_url,
            inner=httpx.ASGITransport(app=app or sandbox.app),
        )
        clients.append(client)
        return GeminiConnector(client, GeminiConfig(api_key=api_key))

    yield build
    for client in clients:
        await client.aclose()
