"""The policy layer's promises, driven through a small sandbox with fault knobs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gigforge.integrations.framework import (
    AuthExpired,
    AuthMode,
    Capability,
    IntegrationRuntime,
    IntegrationSpec,
    OAuth2Credentials,
    Permanent,
    RateLimited,
    RateLimitHeaders,
    TermsOfUse,
    Transient,
    Unavailable,
)
from gigforge.integrations.framework.breaker import BreakerBoard
from gigforge.integrations.framework.ratelimit import QuotaCrossed
from gigforge.integrations.framework.sandbox import FaultInjector, Faults, OAuthServer
from sandbox_support import RecordedSleep, SandboxTokens


class Config(BaseModel):
    pass


def make_spec(**overrides: Any) -> IntegrationSpec:
    values: dict[str, Any] = {
        "slug": "acme",
        "title": "Acme",
        "description": "A test provider",
        "capabilities": frozenset({Capability.crm}),
        "auth_modes": (AuthMode.bearer_token,),
        "base_url": "http://acme.test/api",
        "docs_url": "http://acme.test/docs",
        "terms": TermsOfUse(url="http://acme.test/terms", summary="test"),
        "config_model": Config,
        "rate_limit_headers": RateLimitHeaders(remaining="X-Remaining", reset="X-Reset"),
    }
    values.update(overrides)
    return IntegrationSpec(**values)


class Acme:
    """A provider that answers from a script of statuses, then 200."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.script: list[tuple[int, dict[str, str]]] = []
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []
        self.oauth = OAuthServer(client_id="cid", client_secret="csecret")
        routes = [
            Route("/api/items", self.items, methods=["GET", "POST"]),
            Route("/api/private", self.private, methods=["GET"]),
            *self.oauth.routes(authorize_path="/oauth/authorize", token_path="/oauth/token"),
        ]
        self.app = FaultInjector(Starlette(routes=routes), self.faults)

    async def items(self, request: Request) -> Response:
        self.requests.append(request)
        self.bodies.append(await request.body())
        if self.script:
            status, headers = self.script.pop(0)
            return JSONResponse(
                {"error": f"scripted {status}"}, status_code=status, headers=headers
            )
        return JSONResponse({"items": [1, 2, 3]}, headers={"X-Remaining": "99"})

    async def private(self, request: Request) -> Response:
        self.requests.append(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.oauth.check(token) is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"ok": True})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def acme() -> Acme:
    return Acme()


@pytest.fixture
def sleeps() -> RecordedSleep:
    return RecordedSleep()


@pytest.fixture
def runtime(sleeps: RecordedSleep) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=sleeps)


def client_for(
    runtime: IntegrationRuntime, acme: Acme, spec: IntegrationSpec | None = None, **kwargs: Any
) -> httpx.AsyncClient:
    return runtime.client(
        spec or make_spec(),
        connection="c1",
        inner=httpx.ASGITransport(app=acme.app),
        **kwargs,
    )


async def test_429_with_retry_after_is_waited_out(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    acme.faults.burst_429 = 2
    acme.faults.retry_after = 7
    async with client_for(runtime, acme) as client:
        response = await client.get("/items")
    assert response.status_code == 200
    assert sleeps.delays == [7.0, 7.0]


async def test_retry_after_beyond_the_cap_fails_fast(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    acme.script = [(429, {"Retry-After": "3600"})]
    async with client_for(runtime, acme) as client:
        with pytest.raises(RateLimited) as raised:
            await client.get("/items")
    assert raised.value.retry_after == 3600
    assert sleeps.delays == []
    assert len(acme.requests) == 1


async def test_transient_errors_are_retried_at_most_five_times(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    acme.script = [(503, {})] * 6
    async with client_for(runtime, acme) as client:
        with pytest.raises(Transient):
            await client.get("/items")
    assert len(acme.requests) == 6
    assert len(sleeps.delays) == 5
    assert all(delay <= 30 for delay in sleeps.delays)


async def test_backoff_grows_exponentially_with_jitter_ceiling(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    acme.script = [(502, {})] * 3
    transport = runtime.transport(
        make_spec(), connection="c1", inner=httpx.ASGITransport(app=acme.app)
    )
    transport.jitter = lambda: 1.0
    async with httpx.AsyncClient(transport=transport, base_url="http://acme.test/api") as client:
        assert (await client.get("/items")).status_code == 200
    assert sleeps.delays == [0.5, 1.0, 2.0]


async def test_400_is_permanent_and_not_retried(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    acme.script = [(400, {})]
    async with client_for(runtime, acme) as client:
        with pytest.raises(Permanent) as raised:
            await client.get("/items")
    assert raised.value.upstream_status == 400
    assert "scripted 400" in raised.value.extensions["body"]
    assert len(acme.requests) == 1
    assert sleeps.delays == []


async def test_post_without_idempotency_key_is_not_retried(
    runtime: IntegrationRuntime, acme: Acme
) -> None:
    acme.script = [(503, {})]
    async with client_for(runtime, acme) as client:
        with pytest.raises(Transient):
            await client.post("/items", json={"a": 1})
    assert len(acme.requests) == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_body(
    runtime: IntegrationRuntime, acme: Acme
) -> None:
    acme.script = [(503, {}), (500, {})]
    async with client_for(runtime, acme) as client:
        response = await client.post(
            "/items", json={"a": 1}, headers={"Idempotency-Key": "key-123456"}
        )
    assert response.status_code == 200
    assert len(acme.requests) == 3
    assert {json.loads(body)["a"] for body in acme.bodies} == {1}


async def test_connection_errors_are_transient_and_retried(
    runtime: IntegrationRuntime, sleeps: RecordedSleep
) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={})

    async with runtime.client(
        make_spec(), connection="c1", inner=httpx.MockTransport(handler)
    ) as client:
        assert (await client.get("/items")).status_code == 200
    assert calls == 3
    assert len(sleeps.delays) == 2


async def test_storm_opens_the_breaker_and_a_probe_closes_it(
    acme: Acme, sleeps: RecordedSleep
) -> None:
    clock = Clock()
    runtime = IntegrationRuntime(sleep=sleeps, breakers=BreakerBoard(clock=clock, cooldown=30))
    acme.faults.error_rate = 1.0
    async with client_for(runtime, acme) as client:
        with pytest.raises(Transient):
            await client.get("/items")  # 6 attempts
        clock.now += 5
        with pytest.raises((Transient, Unavailable)):
            await client.get("/items")  # 4 more: the 10th failure opens it
        served = acme.faults.served
        assert served == 10
        with pytest.raises(Unavailable):
            await client.get("/items")
        assert acme.faults.served == served  # failing fast, nothing sent

        acme.faults.error_rate = 0.0
        clock.now += 31
        assert (await client.get("/items")).status_code == 200  # the probe
        assert (await client.get("/items")).status_code == 200  # closed again
    assert runtime.breakers.get("acme").state == "closed"


def test_failures_spread_beyond_the_window_do_not_open_the_breaker() -> None:
    clock = Clock()
    breaker = BreakerBoard(clock=clock).get("acme")
    for _ in range(30):
        clock.now += 7  # nine failures at most fall inside any 60-second window
        breaker.record_failure()
    assert breaker.state == "closed"
    for _ in range(10):
        breaker.record_failure()
    assert breaker.state == "open"


def acme_tokens(acme: Acme) -> SandboxTokens:
    return SandboxTokens(
        acme.app,
        token_url="/oauth/token",
        client_id="cid",
        client_secret="csecret",
        issued=acme.oauth.issue(),
    )


async def test_401_on_oauth_refreshes_once_and_replays(
    runtime: IntegrationRuntime, acme: Acme
) -> None:
    tokens = acme_tokens(acme)
    acme.oauth.expire_access_tokens()
    async with client_for(runtime, acme, credentials=OAuth2Credentials(tokens)) as client:
        response = await client.get("/private")
    assert response.status_code == 200
    assert tokens.refreshes == 1
    assert acme.oauth.refresh_count == 1
    assert len(acme.requests) == 2


async def test_401_after_a_failed_refresh_is_auth_expired(
    runtime: IntegrationRuntime, acme: Acme
) -> None:
    tokens = acme_tokens(acme)
    acme.oauth.expire_access_tokens()
    acme.oauth.refusing_refresh = True
    async with client_for(runtime, acme, credentials=OAuth2Credentials(tokens)) as client:
        with pytest.raises(AuthExpired):
            await client.get("/private")
    assert tokens.refreshes == 1


async def test_quota_events_fire_at_80_95_and_100_percent(
    acme: Acme, sleeps: RecordedSleep
) -> None:
    seen: list[QuotaCrossed] = []

    async def collect(crossed: QuotaCrossed) -> None:
        seen.append(crossed)

    runtime = IntegrationRuntime(sleep=sleeps, on_quota=collect)
    spec = make_spec(rate_limits=("20/hour",))
    async with client_for(runtime, acme, spec=spec) as client:
        for _ in range(20):
            await client.get("/items")
        with pytest.raises(RateLimited):
            await client.get("/items")
    assert [crossed.threshold_percent for crossed in seen] == [80, 95, 100]
    assert {crossed.limit for crossed in seen} == {"20 per 1 hour"}
    assert len(acme.requests) == 20


async def test_a_short_budget_waits_then_sends(acme: Acme) -> None:
    waited: list[float] = []

    async def real_sleep(delay: float) -> None:
        waited.append(delay)
        await asyncio.sleep(delay)

    runtime = IntegrationRuntime(sleep=real_sleep)
    spec = make_spec(rate_limits=("2/second",))
    async with client_for(runtime, acme, spec=spec) as client:
        for _ in range(3):
            assert (await client.get("/items")).status_code == 200
    assert waited
    assert all(0 < delay <= 1 for delay in waited)
    assert len(acme.requests) == 3


async def test_provider_remaining_zero_waits_for_its_reset(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    acme.script = []

    async def exhausted(request: Request) -> Response:
        acme.requests.append(request)
        return JSONResponse({}, headers={"X-Remaining": "0", "X-Reset": "120"})

    acme.app.app.router.routes.insert(0, Route("/api/exhausted", exhausted))  # type: ignore[attr-defined]
    async with client_for(runtime, acme) as client:
        await client.get("/exhausted")
        with pytest.raises(RateLimited) as raised:
            await client.get("/items")
    assert 60 < raised.value.retry_after <= 120
    assert len(acme.requests) == 1


async def test_an_rfc3339_reset_header_is_read(runtime: IntegrationRuntime, acme: Acme) -> None:
    from datetime import UTC, datetime, timedelta

    reset_at = (datetime.now(UTC) + timedelta(seconds=90)).isoformat()

    async def exhausted(request: Request) -> Response:
        acme.requests.append(request)
        return JSONResponse({}, headers={"X-Remaining": "0", "X-Reset": reset_at})

    acme.app.app.router.routes.insert(0, Route("/api/exhausted", exhausted))  # type: ignore[attr-defined]
    spec = make_spec(
        rate_limit_headers=RateLimitHeaders(
            remaining="X-Remaining", reset="X-Reset", reset_kind="rfc3339"
        )
    )
    async with client_for(runtime, acme, spec=spec) as client:
        await client.get("/exhausted")
        with pytest.raises(RateLimited) as raised:
            await client.get("/items")
    assert 60 < raised.value.retry_after <= 90


async def test_a_429_wait_read_from_the_body_is_honoured_and_capped(
    runtime: IntegrationRuntime, acme: Acme, sleeps: RecordedSleep
) -> None:
    def from_body(body: str) -> float | None:
        return 12.0 if "scripted 429" in body else None

    spec = make_spec(retry_delay_from_body=from_body)
    acme.script = [(429, {})]  # no Retry-After header; the body carries the wait
    async with client_for(runtime, acme, spec=spec) as client:
        assert (await client.get("/items")).status_code == 200
    assert sleeps.delays == [12.0]

    def daily(body: str) -> float | None:
        return 86_400.0

    acme.script = [(429, {})]
    async with client_for(runtime, acme, spec=make_spec(retry_delay_from_body=daily)) as client:
        with pytest.raises(RateLimited) as raised:
            await client.get("/items")
    assert raised.value.retry_after == 86_400.0  # beyond the cap: no blind retries


@pytest.mark.parametrize(
    ("script", "method", "requests", "raised"),
    [
        # The provider says another try can succeed: even a 409 and an unkeyed POST go again.
        ([(409, {"Should-Retry": "true"})], "POST", 2, None),
        ([(503, {"Should-Retry": "true"})], "POST", 2, None),
        # The provider says not to: a 503 or a 429 on a GET is not repeated.
        ([(503, {"Should-Retry": "false"})], "GET", 1, Transient),
        ([(429, {"Should-Retry": "false", "Retry-After": "1"})], "GET", 1, RateLimited),
        # No verdict: the status rule holds (a 409 is permanent).
        ([(409, {})], "GET", 1, Permanent),
    ],
)
async def test_the_providers_retry_verdict_overrides_the_status_rule(
    runtime: IntegrationRuntime,
    acme: Acme,
    script: list[tuple[int, dict[str, str]]],
    method: str,
    requests: int,
    raised: type[Exception] | None,
) -> None:
    acme.script = list(script)
    spec = make_spec(rate_limit_headers=RateLimitHeaders(should_retry="Should-Retry"))
    async with client_for(runtime, acme, spec) as client:
        if raised is None:
            assert (await client.request(method, "/items")).status_code == 200
        else:
            with pytest.raises(raised):
                await client.request(method, "/items")
    assert len(acme.requests) == requests
