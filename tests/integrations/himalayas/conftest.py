"""The Himalayas sandbox in-process, and a connector wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.himalayas import SPEC, HimalayasConfig, HimalayasConnector
from gigforge.integrations.himalayas.sandbox import HimalayasSandbox, create_sandbox
from sandbox_support import RecordedSleep


@pytest.fixture
def sandbox() -> HimalayasSandbox:
    return create_sandbox()


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def config() -> HimalayasConfig:
    return HimalayasConfig()


@pytest.fixture
async def connector(
    sandbox: HimalayasSandbox, sleep: RecordedSleep, config: HimalayasConfig
) -> AsyncIterator[HimalayasConnector]:
    runtime = IntegrationRuntime(sleep=sleep)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        yield HimalayasConnector(client, config)
