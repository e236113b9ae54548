"""The Remotive sandbox in-process, and a connector wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.remotive import SPEC, RemotiveConfig, RemotiveConnector
from gigforge.integrations.remotive.sandbox import RemotiveSandbox, create_sandbox
from sandbox_support import RecordedSleep


@pytest.fixture
def sandbox() -> RemotiveSandbox:
    return create_sandbox()


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def config() -> RemotiveConfig:
    return RemotiveConfig()


@pytest.fixture
async def connector(
    sandbox: RemotiveSandbox, sleep: RecordedSleep, config: RemotiveConfig
) -> AsyncIterator[RemotiveConnector]:
    runtime = IntegrationRuntime(sleep=sleep)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        yield RemotiveConnector(client, config)
