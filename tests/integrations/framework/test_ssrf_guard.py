"""The policy layer's road out passes the SSRF guard: a connection pointed at a private or
local address is refused before any byte (or credential) leaves, in-process sandboxes stay
reachable, and failures to reach an allowed host say nothing about its ports."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    HeaderCredentials,
    IntegrationRuntime,
    IntegrationSpec,
    TermsOfUse,
    Transient,
    static_secret,
)
from gigforge.integrations.framework.runtime import destination_guard
from gigforge.integrations.framework.transport import DestinationNotAllowed
from gigforge.kit.ssrf import REFUSED_DETAIL, AddressGuard, DestinationRefused, UnsupportedScheme
from sandbox_support import RecordedSleep
from ssrf_support import TableResolver, closed_port, listening

SANDBOX = "http://127.0.0.1:8000/sandbox/acme"


class Config(BaseModel):
    pass


SPEC = IntegrationSpec(
    slug="acme",
    title="Acme",
    description="A test provider",
    capabilities=frozenset({Capability.crm}),
    auth_modes=(AuthMode.bearer_token,),
    base_url="https://api.acme.test/v1",
    docs_url="https://acme.test/docs",
    terms=TermsOfUse(url="https://acme.test/terms", summary="test"),
    config_model=Config,
)


def runtime(**options: object) -> IntegrationRuntime:
    return IntegrationRuntime(sleep=RecordedSleep(), **options)  # type: ignore[arg-type]


async def test_a_base_url_on_loopback_is_refused_before_the_key_is_sent() -> None:
    async with listening() as listener:
        spec = SPEC.rebased(f"http://127.0.0.1:{listener.port}")
        credentials = HeaderCredentials(static_secret("sk-user-key"), header="Authorization")
        async with runtime().client(spec, connection="c1", credentials=credentials) as client:
            with pytest.raises(DestinationNotAllowed) as refused:
                await client.get("/models")
    assert refused.value.detail == f"Acme: {REFUSED_DETAIL}"
    assert refused.value.status_code == 422
    assert not listener.contacted


async def test_a_refused_destination_is_not_retried_and_leaves_the_breaker_closed() -> None:
    sleeps = RecordedSleep()
    shared = IntegrationRuntime(sleep=sleeps)
    async with listening() as listener:
        spec = SPEC.rebased(f"http://localhost:{listener.port}")
        async with shared.client(spec, connection="c1") as client:
            for _ in range(6):
                with pytest.raises(DestinationNotAllowed):
                    await client.get("/models")
    assert sleeps.delays == []
    assert shared.breakers.get("acme").allow()
    assert not listener.contacted


async def test_the_admins_allow_list_reaches_the_server_through_the_policy_layer() -> None:
    async with listening() as listener:
        allowed = runtime(guard=AddressGuard(allowed=[f"127.0.0.1:{listener.port}"]))
        spec = SPEC.rebased(f"http://127.0.0.1:{listener.port}")
        async with allowed.client(spec, connection="c1") as client:
            response = await client.get("/models")
    assert response.status_code == 200
    assert listener.requests[0].startswith(b"GET /v1/models HTTP/1.1")


async def test_a_closed_allowed_port_says_could_not_connect_without_the_reason() -> None:
    port = closed_port()
    allowed = runtime(guard=AddressGuard(allowed=[f"127.0.0.1:{port}"]))
    async with allowed.client(SPEC.rebased(f"http://127.0.0.1:{port}"), connection="c1") as client:
        with pytest.raises(Transient) as failed:
            await client.post("/models")
    assert failed.value.detail == "Acme: could not connect to 127.0.0.1"


async def test_an_unknown_name_reads_the_same_as_a_closed_port() -> None:
    guard = AddressGuard(resolver=TableResolver({}))
    async with runtime(guard=guard).client(
        SPEC.rebased("https://nowhere.test"), connection="c1"
    ) as client:
        with pytest.raises(Transient) as failed:
            await client.post("/models")
    assert failed.value.detail == "Acme: could not connect to nowhere.test"


async def test_a_mounted_sandbox_stays_reachable_and_passes_the_destination_check() -> None:
    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"data": []})

    # As `serve --sandbox` does: the server's own app, the sandbox mounted under it.
    server = Starlette(
        routes=[Mount("/sandbox/acme", Starlette(routes=[Route("/v1/models", models)]))]
    )
    mounted = runtime(transports={SANDBOX: httpx.ASGITransport(app=server)})

    await mounted.check_destination(SANDBOX)
    async with mounted.client(SPEC.rebased(SANDBOX), connection="c1") as client:
        response = await client.get("/models")
    assert response.json() == {"data": []}


async def test_the_destination_check_refuses_other_schemes_and_private_hosts() -> None:
    checks = runtime()
    for url in ("file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://ftp.example.com/"):
        with pytest.raises(UnsupportedScheme):
            await checks.check_destination(url)
    with pytest.raises(DestinationRefused):
        await checks.check_destination("http://169.254.169.254/latest/meta-data/")


async def test_clients_carry_the_runtimes_guard_for_protocols_other_than_http() -> None:
    guard = AddressGuard(allowed=["10.0.0.0/8"])
    async with runtime(guard=guard).client(SPEC, connection="c1") as client:
        assert destination_guard(client) is guard
    async with httpx.AsyncClient() as plain:
        strict = destination_guard(plain)
    assert strict.allow_list == AddressGuard().allow_list


async def test_the_own_sandbox_mount_is_reachable_over_the_loopback_and_nothing_else() -> None:
    """A CLI or worker process reaches the sandboxes `serve --sandbox` mounts; the same host
    and port outside `/sandbox/` stay refused."""
    async with listening() as listener:
        own = f"http://127.0.0.1:{listener.port}"
        shared = runtime(own_sandboxes=f"{own}/sandbox/")
        async with shared.client(SPEC.rebased(f"{own}/sandbox/acme"), connection="c1") as client:
            await client.get("/models")
        assert listener.contacted
        seen = len(listener.requests)
        for elsewhere in (f"{own}/api", f"{own}/sandbox/../api", f"{own}/sandboxes"):
            async with shared.client(SPEC.rebased(elsewhere), connection="c1") as client:
                with pytest.raises(DestinationNotAllowed):
                    await client.get("/models")
            with pytest.raises(DestinationRefused):
                await shared.check_destination(elsewhere)
        await shared.check_destination(f"{own}/sandbox/acme")
    assert len(listener.requests) == seen
