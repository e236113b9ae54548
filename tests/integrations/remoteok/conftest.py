"""The Remote OK sandbox in-process, and a connector wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.remoteok import SPEC, RemoteOKConfig, RemoteOKConnector
from gigforge.integrations.remoteok.sandbox import RemoteOKSandbox, create_sandbox
from sandbox_support import RecordedSleep


@pytest.fixture
def sandbox() -> RemoteOKSandbox:
    return create_sandbox()


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def config() -> RemoteOKConfig:
    return RemoteOKConfig()


@pytest.fixture
async def connector(
    sandbox: RemoteOKSandbox, sleep: RecordedSleep, config: RemoteOKConfig
) -> AsyncIterator[RemoteOKConnector]:
    runtime = IntegrationRuntime(sleep=sleep)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        yield RemoteOKConnector(client, config)
