"""The Freelance.ru sandbox in-process, and a connector wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gigforge.integrations.framework import IntegrationRuntime
from gigforge.integrations.freelanceru import SPEC, FreelanceRuConfig, FreelanceRuConnector
from gigforge.integrations.freelanceru.sandbox import FreelanceRuSandbox, create_sandbox
from sandbox_support import RecordedSleep


@pytest.fixture
def sandbox() -> FreelanceRuSandbox:
    return create_sandbox()


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def config() -> FreelanceRuConfig:
    return FreelanceRuConfig()


@pytest.fixture
async def connector(
    sandbox: FreelanceRuSandbox, sleep: RecordedSleep, config: FreelanceRuConfig
) -> AsyncIterator[FreelanceRuConnector]:
    runtime = IntegrationRuntime(sleep=sleep)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        yield FreelanceRuConnector(client, config)
