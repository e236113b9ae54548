"""The We Work Remotely sandbox in-process, and a connector wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.weworkremotely import SPEC, WeWorkRemotelyConfig, WeWorkRemotelyConnector
from gigforge.integrations.weworkremotely.sandbox import WeWorkRemotelySandbox, create_sandbox
from sandbox_support import RecordedSleep


@pytest.fixture
def sandbox() -> WeWorkRemotelySandbox:
    return create_sandbox()


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def config() -> WeWorkRemotelyConfig:
    return WeWorkRemotelyConfig(enabled_by_user=True)


@pytest.fixture
async def connector(
    sandbox: WeWorkRemotelySandbox, sleep: RecordedSleep, config: WeWorkRemotelyConfig
) -> AsyncIterator[WeWorkRemotelyConnector]:
    runtime = IntegrationRuntime(sleep=sleep)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        yield WeWorkRemotelyConnector(client, config)
