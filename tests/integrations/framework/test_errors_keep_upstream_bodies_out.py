"""No API answer carries what a provider sent back: the upstream body and the provider's own
error fields stay in the log line of the call (redacted) and in the connectors that read them,
while the answer keeps a short plain message and its `code`."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.responses import Response

from factories import Account, AppFactory, connect_oauth, connect_openai, register
from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    NotSupported,
    Permanent,
    RateLimited,
    Transient,
    Unavailable,
)
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.kit.problems import install_problem_handlers
from gigforge.opportunities.scanning import Scanner

MARKER = "UPSTREAM-BODY-MARKER-7f3a"
# An OpenAI-shaped error whose every field but the message carries the marker, after a trace.
UPSTREAM_BODY = json.dumps(
    {
        "error": {
            "message": "The model failed.",
            "type": f"server_error {MARKER}",
            "param": MARKER,
            "code": MARKER,
        },
        "trace": f"internal host db-7.provider.example {MARKER}",
    }
)


async def _no_wait(delay: float) -> None:
    return None


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    application = await app_factory(sandbox=True)
    application.state.integrations.runtime.sleep = _no_wait
    return application


@pytest.fixture
async def http(app: FastAPI) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _openai_fails(app: FastAPI, status: int, body: str = UPSTREAM_BODY) -> None:
    """Every call to the OpenAI sandbox answers `status` with `body`."""
    sandbox = app.state.sandboxes["openai"]

    def render(status: int, message: str) -> Response:
        return Response(body, status_code=status, media_type="application/json")

    sandbox.app.render = render
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = status


def _assert_no_upstream_body(response: httpx.Response) -> dict[str, Any]:
    assert MARKER not in response.text, response.text
    problem: dict[str, Any] = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["type"].startswith("urn:gigforge:problem:")
    assert problem["detail"]
    assert len(problem["detail"]) < 300
    assert "body" not in problem
    return problem


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_connection_create_answer_carries_no_upstream_body(
    app: FastAPI, http: httpx.AsyncClient, status: int
) -> None:
    account = await register(http)
    _openai_fails(app, status)
    refused = await http.post(
        "/api/v1/connections",
        json={"integration": "openai", "config": {"api_key": SANDBOX_API_KEY}},
        headers=account.headers,
    )
    assert refused.status_code == 422
    problem = _assert_no_upstream_body(refused)
    assert problem["type"].endswith("connection-test-failed")
    assert problem["integration"] == "openai"


async def test_connection_test_answer_carries_no_upstream_body(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    await connect_openai(http, account)
    [connection] = (await http.get("/api/v1/connections", headers=account.headers)).json()["items"]
    _openai_fails(app, 400)
    tested = await http.post(
        f"/api/v1/connections/{connection['id']}/test", headers=account.headers
    )
    assert tested.status_code == 422
    problem = _assert_no_upstream_body(tested)
    assert problem["upstream_status"] == 400
    listed = await http.get("/api/v1/connections", headers=account.headers)
    assert MARKER not in listed.text


async def _opportunity(app: FastAPI, http: httpx.AsyncClient, account: Account) -> str:
    connection_id = await connect_oauth(http, account, "upwork")
    await Scanner(app.state.integrations).scan(uuid.UUID(connection_id))
    listed = await http.get("/api/v1/jobs/opportunities", headers=account.headers)
    return str(listed.json()["opportunities"][0]["id"])


async def test_a_draft_refused_by_the_model_answers_without_the_upstream_body(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    opportunity_id = await _opportunity(app, http, account)
    await connect_openai(http, account)
    _openai_fails(app, 400)
    refused = await http.post(
        "/api/v1/proposals", json={"opportunity_id": opportunity_id}, headers=account.headers
    )
    assert refused.status_code == 502
    problem = _assert_no_upstream_body(refused)
    assert problem["type"].endswith("integration-rejected")
    assert problem["detail"] == "OpenAI: The model failed."
    assert problem["upstream_status"] == 400


async def test_a_draft_after_the_model_failed_carries_no_upstream_body(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    opportunity_id = await _opportunity(app, http, account)
    await connect_openai(http, account)
    _openai_fails(app, 500)
    drafted = await http.post(
        "/api/v1/proposals", json={"opportunity_id": opportunity_id}, headers=account.headers
    )
    assert MARKER not in drafted.text
    if drafted.status_code != 201:
        _assert_no_upstream_body(drafted)
        return
    shown = await http.get(f"/api/v1/proposals/{drafted.json()['id']}", headers=account.headers)
    assert MARKER not in shown.text


@pytest.mark.parametrize(
    "error",
    [
        Permanent("Acme rejected the call", integration="acme", status=400, body=UPSTREAM_BODY),
        Transient("Acme answered 503", integration="acme", status=503, body=UPSTREAM_BODY),
        AuthExpired("Acme refused the credentials", integration="acme", body=UPSTREAM_BODY),
        RateLimited("Acme asked us to wait", integration="acme", retry_after=2, body=MARKER),
        Unavailable("Calls to Acme are paused", integration="acme", vendor_code=MARKER),
        NotSupported("Acme has no such operation", integration="acme", body=MARKER),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_every_integration_error_answers_without_its_upstream_fields(
    error: IntegrationError,
) -> None:
    api = FastAPI()
    install_problem_handlers(api)

    @api.get("/api/v1/fails")
    async def fails() -> None:
        raise error

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://testserver"
    ) as client:
        response = await client.get("/api/v1/fails")
    assert response.status_code == error.status_code
    problem = _assert_no_upstream_body(response)
    assert problem["type"].endswith(error.code)
    assert problem["detail"] == error.detail
    assert problem["integration"] == "acme"
    assert set(problem) <= {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "integration",
        "upstream_status",
        "retry_after",
    }
    assert MARKER in json.dumps(error.extensions, default=str), "connectors still read the body"


async def test_the_call_log_keeps_the_failure_for_operators(
    app: FastAPI, http: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    account = await register(http)
    _openai_fails(app, 400)
    await http.post(
        "/api/v1/connections",
        json={"integration": "openai", "config": {"api_key": SANDBOX_API_KEY}},
        headers=account.headers,
    )
    calls = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if '"integration.call"' in line
    ]
    failed = [call for call in calls if call.get("outcome") == "Permanent"]
    assert failed, calls
    assert MARKER in failed[-1]["upstream_body"]
    assert failed[-1]["status"] == 400
    assert SANDBOX_API_KEY not in json.dumps(calls)
