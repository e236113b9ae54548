"""A Stripe sandbox and a connector that reaches it through the real policy layer, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from pydantic import SecretStr

from gigforge.integrations.framework import (
    HeaderCredentials,
    IntegrationRuntime,
    static_secret,
)
from gigforge.integrations.stripe import SPEC, StripeConfig, StripeConnector
from gigforge.integrations.stripe.sandbox import (
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    StripeSandbox,
    create_sandbox,
)

SANDBOX_URL = "http://sandbox"

ConnectorFactory = Callable[..., Awaitable[StripeConnector]]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def runtime(sleeps: list[float]) -> IntegrationRuntime:
    async def fake_sleep(delay: float) -> None:
        sleeps.append(delay)

    return IntegrationRuntime(sleep=fake_sleep)


@pytest.fixture
def sandbox() -> StripeSandbox:
    return create_sandbox()


@pytest.fixture
async def connect(
    runtime: IntegrationRuntime, sandbox: StripeSandbox
) -> AsyncIterator[ConnectorFactory]:
    """Build a connector for a stored connection, with the key of your choice."""
    clients: list[httpx.AsyncClient] = []

    async def build(secret_key: str = SANDBOX_SECRET_KEY) -> StripeConnector:
        config = StripeConfig(
            secret_key=SecretStr(secret_key), webhook_secret=SecretStr(SANDBOX_WEBHOOK_SECRET)
        )
        client = runtime.client(
            SPEC.rebased(SANDBOX_URL),
            connection="test",
            credentials=HeaderCredentials(static_secret(config.secret_key)),
            inner=httpx.ASGITransport(app=sandbox.app),
        )
        clients.append(client)
        return StripeConnector(client, config)

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def stripe(connect: ConnectorFactory) -> StripeConnector:
    return await connect()


@pytest.fixture
async def raw(sandbox: StripeSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client straight to the sandbox, for checking the sandbox's own protocol."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX_URL
    ) as client:
        yield client
