"""The ECB sandbox in-process, and a connector wired to it through the policy layer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from gigforge.integrations.ecb import SPEC, ECBConfig, ECBConnector
from gigforge.integrations.ecb.sandbox import ECBSandbox, create_sandbox
from gigforge.integrations.framework import IntegrationRuntime
from sandbox_support import RecordedSleep

# A Monday evening: the sandbox serves that Monday's rates.
NOW = datetime(2026, 1, 5, 18, 30, tzinfo=UTC)
SANDBOX_URL = "http://sandbox"


@pytest.fixture
def sandbox() -> ECBSandbox:
    return create_sandbox(now=NOW)


@pytest.fixture
def sleep() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
async def connector(sandbox: ECBSandbox, sleep: RecordedSleep) -> AsyncIterator[ECBConnector]:
    runtime = IntegrationRuntime(
        sleep=sleep, transports={SANDBOX_URL: httpx.ASGITransport(app=sandbox.app)}
    )
    client = runtime.client(SPEC.rebased(SANDBOX_URL), connection="test")
    async with client:
        yield ECBConnector(client, ECBConfig())
