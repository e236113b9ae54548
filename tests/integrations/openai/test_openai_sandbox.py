"""The sandbox holds to OpenAI's protocol on its own, with no policy layer in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gigforge.integrations.openai.sandbox import (
    SANDBOX_API_KEY,
    OpenAISandbox,
    create_sandbox,
    go_duration,
)

AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}
HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http(sandbox: OpenAISandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


async def test_a_request_without_a_key_gets_openais_401(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/chat/completions", json=HELLO)

    assert response.status_code == 401
    error = error_of(response)
    assert error["message"].startswith("You didn't provide an API key.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)


async def test_a_wrong_key_gets_invalid_api_key_with_the_key_masked(
    http: httpx.AsyncClient,
) -> None:
    wrong = "sk-wrong-abcdefghijklmnop1234"
    response = await http.get("/v1/models", headers={"Authorization": f"Bearer {wrong}"})

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "invalid_api_key"
    assert error["message"].startswith("Incorrect API key provided: sk-")
    assert "1234." in error["message"]
    assert wrong not in error["message"]


async def test_a_completion_has_the_documented_shape(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/chat/completions", json=HELLO, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Re: hello",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (1, 2, 3)
    assert response.headers["x-request-id"].startswith("req_")


async def test_the_models_list_is_a_list_object(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/models", headers=AUTH)

    body = response.json()
    assert body["object"] == "list"
    assert {"id": "gpt-4o", "object": "model", "created": 1_700_000_000, "owned_by": "system"} in (
        body["data"]
    )


@pytest.mark.parametrize(
    ("body", "status", "param", "code", "message"),
    [
        ({"model": "gpt-4o-mini"}, 400, "messages", "missing_required_parameter",
         "Missing required parameter: 'messages'."),
        ({**HELLO, "messages": []}, 400, "messages", "empty_array",
         "Invalid 'messages': empty array."),
        ({"messages": HELLO["messages"]}, 400, None, None, "you must provide a model parameter"),
        ({**HELLO, "colour": "blue"}, 400, None, None,
         "Unrecognized request argument supplied: colour"),
        ({**HELLO, "temperature": 3}, 400, "temperature", "decimal_above_max_value",
         "Invalid 'temperature': decimal above maximum value."),
        ({**HELLO, "max_completion_tokens": 0}, 400, "max_completion_tokens",
         "integer_below_min_value", "Invalid 'max_completion_tokens': integer below minimum"),
        ({**HELLO, "messages": [{"role": "robot", "content": "hi"}]}, 400, "messages[0].role",
         "invalid_value", "Invalid value: 'robot'."),
        ({**HELLO, "model": "o4-mini", "max_tokens": 10}, 400, "max_tokens",
         "unsupported_parameter", "Unsupported parameter: 'max_tokens'"),
        ({**HELLO, "model": "gpt-9"}, 404, None, "model_not_found", "The model `gpt-9` does not"),
    ],
)  # fmt: skip
async def test_invalid_bodies_get_openais_error_envelope(
    http: httpx.AsyncClient,
    body: dict[str, Any],
    status: int,
    param: str | None,
    code: str | None,
    message: str,
) -> None:
    response = await http.post("/v1/chat/completions", json=body, headers=AUTH)

    assert response.status_code == status
    error = error_of(response)
    assert error["message"].startswith(message)
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


async def test_a_body_that_is_not_json_is_rejected(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/chat/completions",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert error_of(response)["message"].startswith("We could not parse the JSON body")


async def test_an_unknown_path_is_an_invalid_url(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/nothing", headers=AUTH)

    assert response.status_code == 404
    assert error_of(response)["message"] == "Invalid URL (GET /v1/nothing)"


async def test_the_minute_limit_answers_429_with_openais_headers_then_resets() -> None:
    clock = Clock()
    sandbox = create_sandbox(requests_per_minute=2, clock=clock)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        first = await http.post("/v1/chat/completions", json=HELLO, headers=AUTH)
        clock.now += 0.5
        second = await http.post("/v1/chat/completions", json=HELLO, headers=AUTH)
        limited = await http.post("/v1/chat/completions", json=HELLO, headers=AUTH)
        clock.now += 60
        after_reset = await http.post("/v1/chat/completions", json=HELLO, headers=AUTH)

    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"] == "1m0s"
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.headers["x-ratelimit-reset-requests"] == "59.5s"
    assert limited.status_code == 429
    assert limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert limited.headers["Retry-After"] == "60"
    error = error_of(limited)
    assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    assert error["message"].startswith("Rate limit reached for gpt-4o-mini in organization")
    assert after_reset.status_code == 200


async def test_injected_faults_speak_openais_error_shapes(
    http: httpx.AsyncClient, sandbox: OpenAISandbox
) -> None:
    sandbox.faults.burst_429 = 1
    limited = await http.get("/v1/models", headers=AUTH)
    sandbox.faults.error_rate = 1.0
    failed = await http.get("/v1/models", headers=AUTH)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert error_of(limited)["code"] == "rate_limit_exceeded"
    assert failed.status_code == 503
    assert error_of(failed)["type"] == "server_error"


async def test_every_request_that_reaches_the_api_is_recorded(
    http: httpx.AsyncClient, sandbox: OpenAISandbox
) -> None:
    await http.post("/v1/chat/completions", json=HELLO)
    await http.post("/v1/chat/completions", json=HELLO, headers=AUTH)

    assert [request.authorization for request in sandbox.requests] == [None, AUTH["Authorization"]]
    assert [request.body for request in sandbox.requests] == [HELLO, HELLO]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.12, "120ms"), (1, "1s"), (59.5, "59.5s"), (360, "6m0s"), (90.25, "1m30.25s"),
     (3723, "1h2m3s")],
)  # fmt: skip
def test_resets_are_written_as_go_durations_like_openais(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
