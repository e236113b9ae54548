"""Conventions every endpoint keeps: problem+json errors, request ids, documented operations."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from factories import register

PROBLEM = "application/problem+json"


def _body_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every operation that takes a request body, from the app's own OpenAPI document."""
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                yield method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


def _assert_problem(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.request.url, response.text)
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status"} <= body.keys()
    assert body["status"] == response.status_code


async def test_every_body_endpoint_rejects_bad_bodies_with_problems(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    routes = list(_body_routes(app))
    assert len(routes) >= 9
    json_headers = {**admin.headers, "Content-Type": "application/json"}
    for method, path in routes:
        malformed = await client.request(method, path, content=b'{"email": ', headers=json_headers)
        _assert_problem(malformed, 400)
        assert malformed.json()["type"].endswith("malformed-json")

        wrong_type = await client.request(
            method, path, json=["not", "an", "object"], headers=admin.headers
        )
        _assert_problem(wrong_type, 422)
        assert wrong_type.json()["errors"]

        unknown = await client.request(
            method, path, json={"surprise": {"nested": [1, 2]}}, headers=admin.headers
        )
        _assert_problem(unknown, 422)
        assert any(error["loc"][-1] == "surprise" for error in unknown.json()["errors"])

        oversized = await client.request(
            method, path, content=b'{"a": "' + b"x" * 2_000_000 + b'"}', headers=json_headers
        )
        _assert_problem(oversized, 413)


async def test_wrong_field_types_list_the_invalid_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": 42, "password": ["x"], "full_name": None}
    )
    _assert_problem(response, 422)
    fields = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert {("body", "email"), ("body", "password"), ("body", "full_name")} <= fields


async def test_bad_query_and_path_parameters_are_problems(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    _assert_problem(await client.get("/api/v1/api-keys?limit=0", headers=admin.headers), 422)
    _assert_problem(await client.get("/api/v1/api-keys?limit=abc", headers=admin.headers), 422)
    _assert_problem(await client.delete("/api/v1/api-keys/not-a-uuid", headers=admin.headers), 422)


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    _assert_problem(await client.get("/api/v1/nothing-here"), 404)
    _assert_problem(await client.put("/api/v1/auth/login", json={}), 405)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer not.a.jwt"},
        {"X-API-Key": "nope"},
    ],
)
async def test_missing_or_bad_credentials_are_401_problems(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/api/v1/users/me", headers=headers)
    _assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    generated = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["X-Request-ID"])
    problem = await client.get("/api/v1/users/me", headers={"X-Request-ID": "trace-7"})
    assert problem.headers["X-Request-ID"] == "trace-7"
    assert problem.json()["request_id"] == "trace-7"


async def test_openapi_documents_operations_and_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    operation_ids = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert re.fullmatch(r"[a-z_]+-[a-z_]+", operation["operationId"]), operation
            if path.startswith("/api/v1"):
                errors = [code for code in operation["responses"] if code.startswith(("4", "5"))]
                assert errors, f"{method.upper()} {path} documents no error response"
                for code in errors:
                    assert PROBLEM in operation["responses"][code]["content"], (path, code)
    assert "auth-login" in operation_ids
    assert len(operation_ids) == len(set(operation_ids))
    assert "Problem" in spec["components"]["schemas"]


async def test_docs_pages_are_served(client: httpx.AsyncClient) -> None:
    assert "swagger-ui" in (await client.get("/docs")).text
    assert "redoc" in (await client.get("/redoc")).text.lower()


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readiness_fails_when_the_database_is_gone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from gigforge.kit.db import Database

    working = app.state.database
    app.state.database = Database.from_url("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.database.dispose()
        app.state.database = working
    _assert_problem(response, 503)


async def test_metrics_count_requests_by_route_and_status(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/users/me")
    text = (await client.get("/metrics")).text
    assert re.search(
        r'gigforge_http_requests_total\{method="GET",route="/api/v1/users/me",status="401"\} 1\.0',
        text,
    ), text[:2000]
    assert "gigforge_http_request_duration_seconds_bucket" in text


async def test_unexpected_errors_are_500_problems_that_leak_nothing(
    app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    async def explode() -> None:
        raise RuntimeError("database password=hunter2-planted is wrong")

    app.router.add_api_route("/boom", explode, methods=["GET"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "boom-1"})
    _assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert response.headers["X-Request-ID"] == "boom-1"
    assert response.json()["request_id"] == "boom-1"
    logged = capsys.readouterr().err
    assert "unhandled error" in logged
    assert "boom-1" in logged
    assert "hunter2-planted" not in logged
