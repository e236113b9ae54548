from __future__ import annotations

import os
import uuid

import httpx
import pytest
from test_transport import Acme, make_spec

from gigforge.integrations.framework import (
    HeaderCredentials,
    IntegrationRuntime,
    RateLimited,
    static_secret,
)
from sandbox_support import RecordedSleep

REDIS_URL = os.environ.get("GIGFORGE_TEST_REDIS_URL")


@pytest.mark.skipif(not REDIS_URL, reason="GIGFORGE_TEST_REDIS_URL is not set; needs Redis")
async def test_redis_budget_is_shared_by_two_clients() -> None:
    acme = Acme()
    spec = make_spec(rate_limits=("5/hour",))
    connection = f"shared-{uuid.uuid4().hex}"
    first = IntegrationRuntime(rate_limit_storage_url=REDIS_URL, sleep=RecordedSleep())
    second = IntegrationRuntime(rate_limit_storage_url=REDIS_URL, sleep=RecordedSleep())
    inner = httpx.ASGITransport(app=acme.app)
    async with (
        first.client(spec, connection=connection, inner=inner) as a,
        second.client(spec, connection=connection, inner=inner) as b,
    ):
        for client in (a, b, a, b, a):
            assert (await client.get("/items")).status_code == 200
        with pytest.raises(RateLimited):
            await b.get("/items")
    assert len(acme.requests) == 5


async def test_memory_budgets_are_per_connection() -> None:
    acme = Acme()
    runtime = IntegrationRuntime(sleep=RecordedSleep())
    spec = make_spec(rate_limits=("1/hour",))
    inner = httpx.ASGITransport(app=acme.app)
    async with (
        runtime.client(spec, connection="one", inner=inner) as one,
        runtime.client(spec, connection="two", inner=inner) as two,
    ):
        await one.get("/items")
        await two.get("/items")
        with pytest.raises(RateLimited):
            await one.get("/items")


@pytest.mark.usefixtures("restore_logging")
async def test_one_redacted_log_record_per_call(capsys: pytest.CaptureFixture[str]) -> None:
    from gigforge.kit.logging import configure_logging
    from gigforge.settings import Settings

    configure_logging(Settings(env="development", log_format="json"))
    acme = Acme()
    acme.script = [(503, {})]
    secret = "sk_live_planted_" + uuid.uuid4().hex
    runtime = IntegrationRuntime(sleep=RecordedSleep())
    async with runtime.client(
        make_spec(),
        connection="c1",
        credentials=HeaderCredentials(static_secret(secret)),
        inner=httpx.ASGITransport(app=acme.app),
    ) as client:
        await client.get("/items", params={"api_key": secret})
    assert acme.requests[0].headers["authorization"] == f"Bearer {secret}"
    output = capsys.readouterr().err
    records = [line for line in output.splitlines() if "integration.call" in line]
    assert len(records) == 1
    for field in (
        '"integration": "acme"',
        '"connection": "c1"',
        '"method": "GET"',
        '"path": "/api/items"',
        '"status": 200',
        '"attempts": 2',
    ):
        assert field in records[0]
    assert secret not in output


async def test_metrics_count_calls_and_retries() -> None:
    from prometheus_client import generate_latest

    acme = Acme()
    acme.script = [(503, {})]
    runtime = IntegrationRuntime(sleep=RecordedSleep())
    async with runtime.client(
        make_spec(), connection="c1", inner=httpx.ASGITransport(app=acme.app)
    ) as client:
        await client.get("/items")
    text = generate_latest(runtime.metrics.registry).decode()
    assert (
        'gigforge_integration_calls_total{integration="acme",outcome="ok",status="200"} 1.0' in text
    )
    assert 'gigforge_integration_retries_total{integration="acme"} 1.0' in text
    assert 'gigforge_integration_breaker_state{integration="acme"} 0.0' in text
