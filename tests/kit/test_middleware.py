from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from starlette.types import Message, Scope

from gigforge.kit.logging import configure_logging
from gigforge.kit.metrics import HttpMetrics
from gigforge.kit.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from gigforge.kit.problems import PROBLEM_CONTENT_TYPE, install_problem_handlers
from gigforge.settings import Settings

MAX_BYTES = 1024
HEX_ID = re.compile(r"[0-9a-f]{32}")


class Note(BaseModel):
    text: str


@pytest.fixture
def access_log(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> pytest.CaptureFixture[str]:
    """JSON logs on the captured stderr; conftest's restore_logging puts the state back."""
    configure_logging(Settings(env="development", log_format="json"))
    return capsys


def _log_records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]


def _access_records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [record for record in _log_records(capsys) if record["logger"] == "gigforge.access"]


@pytest.fixture
def metrics() -> HttpMetrics:
    return HttpMetrics()


@pytest.fixture
def app(metrics: HttpMetrics) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    # Nested prefixes, as in the real app: the template must carry both.
    users = APIRouter(prefix="/users")

    @users.get("/{user_id}")
    async def read_user(user_id: int, request: Request) -> dict[str, Any]:
        return {"user_id": user_id, "request_id": request.state.request_id}

    api = APIRouter(prefix="/api/v1")
    api.include_router(users)
    app.include_router(api)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"length": len(body), "text": body.decode()}

    @app.post("/notes")
    async def create_note(note: Note) -> Note:
        return note

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    # Added innermost first: the request context wraps the body limit, as in the real app.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=MAX_BYTES)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_valid_incoming_request_id_is_echoed_and_visible_to_the_app(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/users/7", headers={"X-Request-ID": "edge:abc-123.4_5"})

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "edge:abc-123.4_5"
    assert response.json() == {"user_id": 7, "request_id": "edge:abc-123.4_5"}


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/7")

    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "incoming",
    ["has space", "a" * 129, "semi;colon", "new\\nline", "<script>"],
)
async def test_invalid_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/api/v1/users/7", headers={"X-Request-ID": incoming})

    assert response.headers["X-Request-ID"] != incoming
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


async def test_access_log_has_route_template_status_and_request_id(
    access_log: pytest.CaptureFixture[str], client: httpx.AsyncClient
) -> None:
    access_log.readouterr()

    response = await client.get(
        "/api/v1/users/987654?email=ada@example.com", headers={"X-Request-ID": "req-1"}
    )

    (record,) = _access_records(access_log)
    assert response.status_code == 200
    assert record["event"] == "request"
    assert record["method"] == "GET"
    assert record["route"] == "/api/v1/users/{user_id}"
    assert record["status"] == 200
    assert record["request_id"] == "req-1"
    assert isinstance(record["latency_ms"], float)
    assert "987654" not in json.dumps(record)
    assert "example.com" not in json.dumps(record)


async def test_unmatched_and_failing_requests_are_logged_with_bounded_routes(
    access_log: pytest.CaptureFixture[str], client: httpx.AsyncClient
) -> None:
    access_log.readouterr()

    missing = await client.get("/no/such/thing/123")
    missing_under_prefix = await client.get("/api/v1/nothing/123")
    wrong_method = await client.delete("/api/v1/users/5")
    failing = await client.get("/boom")

    records = _access_records(access_log)
    assert [missing.status_code, missing_under_prefix.status_code] == [404, 404]
    assert [wrong_method.status_code, failing.status_code] == [405, 500]
    assert [(record["route"], record["status"]) for record in records] == [
        ("unmatched", 404),
        ("unmatched", 404),
        ("/api/v1/users/{user_id}", 405),
        ("/boom", 500),
    ]


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, metrics: HttpMetrics
) -> None:
    await client.get("/api/v1/users/1")
    await client.get("/api/v1/users/2")
    await client.get("/nowhere/3")

    body, content_type = metrics.render()
    exposition = body.decode()
    assert content_type.startswith("text/plain")
    assert (
        'gigforge_http_requests_total{method="GET",route="/api/v1/users/{user_id}",status="200"}'
        " 2.0" in exposition
    )
    assert 'gigforge_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in (
        exposition
    )
    assert (
        'gigforge_http_request_duration_seconds_count{method="GET",route="/api/v1/users/{user_id}"}'
        " 2.0" in exposition
    )
    assert "/api/v1/users/1" not in exposition


def test_each_metrics_instance_has_its_own_registry() -> None:
    first, second = HttpMetrics(), HttpMetrics()

    first.observe("GET", "/a", 200, 0.01)

    assert b'route="/a"' in first.render()[0]
    assert b'route="/a"' not in second.render()[0]


def test_unknown_methods_share_one_label() -> None:
    metrics = HttpMetrics()

    metrics.observe("BREW", "unmatched", 405, 0.01)

    assert b'method="OTHER"' in metrics.render()[0]
    assert b"BREW" not in metrics.render()[0]


async def test_oversized_content_length_is_refused_with_problem_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/echo", content=b"x" * (MAX_BYTES + 1), headers={"X-Request-ID": "big-1"}
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.headers["X-Request-ID"] == "big-1"
    assert response.json() == {
        "type": "urn:gigforge:problem:payload-too-large",
        "title": "Request body too large",
        "status": 413,
        "detail": f"The body must be at most {MAX_BYTES} bytes",
        "instance": "/echo",
        "request_id": "big-1",
    }


@pytest.mark.parametrize("path", ["/echo", "/notes"])
async def test_oversized_chunked_body_is_refused_without_error_logs(
    access_log: pytest.CaptureFixture[str], client: httpx.AsyncClient, path: str
) -> None:
    access_log.readouterr()

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(4):
            yield b"y" * 512
        yield b'"}'

    response = await client.post(
        path, content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["request_id"] == response.headers["X-Request-ID"]
    records = [r for r in _log_records(access_log) if r["logger"] != "httpx"]
    assert [(r["logger"], r["route"], r["status"]) for r in records] == [
        ("gigforge.access", path, 413)
    ]


async def test_chunked_body_within_the_limit_passes_through(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": '
        yield b'"hello world"}'

    response = await client.post(
        "/notes", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json() == {"text": "hello world"}


async def test_normal_post_body_arrives_intact(client: httpx.AsyncClient) -> None:
    payload = "ä" * (MAX_BYTES // 2)  # exactly MAX_BYTES bytes in UTF-8

    response = await client.post("/echo", content=payload.encode())

    assert response.status_code == 200
    assert response.json() == {"length": MAX_BYTES, "text": payload}


@pytest.mark.parametrize("content_length", ["abc", "-1", "1.5", ""])
async def test_invalid_content_length_is_a_bad_request(app: FastAPI, content_length: str) -> None:
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/echo",
        "raw_path": b"/echo",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-length", content_length.encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("test", 80),
    }

    await app(scope, receive, send)

    start, body = messages
    headers = dict(start["headers"])
    assert start["status"] == 400
    assert headers[b"content-type"] == PROBLEM_CONTENT_TYPE.encode()
    assert HEX_ID.fullmatch(headers[b"x-request-id"].decode())
    problem = json.loads(body["body"])
    assert problem["type"] == "urn:gigforge:problem:bad-request"
    assert problem["request_id"] == headers[b"x-request-id"].decode()
