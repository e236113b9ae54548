"""The sandbox holds to Anthropic's protocol on its own, with no policy layer in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gigforge.integrations.anthropic.sandbox import (
    SANDBOX_API_KEY,
    AnthropicSandbox,
    create_sandbox,
    rfc3339,
)

HEADERS = {"x-api-key": SANDBOX_API_KEY, "anthropic-version": "2026-10-21"}
LEGACY = {**HEADERS, "anthropic-version": "2023-06-01"}
HELLO = {
    "model": "claude-haiku-4-5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "hello"}],
}
NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http(sandbox: AnthropicSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["type"] == "error"
    assert body["request_id"] == response.headers["request-id"]
    assert set(body["error"]) == {"type", "message"}
    return body["error"]


async def test_a_request_without_a_key_gets_anthropics_401(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/messages", json=HELLO, headers={"anthropic-version": "2026-10-21"}
    )

    assert response.status_code == 401
    assert error_of(response) == {
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }


async def test_a_wrong_key_is_refused_without_echoing_it(http: httpx.AsyncClient) -> None:
    wrong = "sk-ant-api03-wrong-abcdefghijklmnop"
    response = await http.get("/v1/models", headers={**HEADERS, "x-api-key": wrong})

    assert response.status_code == 401
    assert error_of(response) == {"type": "authentication_error", "message": "invalid x-api-key"}
    assert wrong not in response.text


async def test_a_request_without_an_api_version_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/v1/messages", json=HELLO, headers={"x-api-key": SANDBOX_API_KEY})

    assert response.status_code == 400
    assert error_of(response) == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }


async def test_a_message_has_the_documented_shape(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/messages", json={**HELLO, "system": "Be brief."}, headers=HEADERS
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("msg_")
    assert (body["type"], body["role"]) == ("message", "assistant")
    assert body["content"] == [{"type": "text", "text": "Re: hello"}]
    assert body["model"] == "claude-haiku-4-5-20251001"
    assert (body["stop_reason"], body["stop_sequence"]) == ("end_turn", None)
    usage = body["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (3, 2)
    assert response.headers["request-id"].startswith("req_")


async def test_max_tokens_cuts_the_reply(http: httpx.AsyncClient) -> None:
    body = {**HELLO, "max_tokens": 1, "messages": [{"role": "user", "content": "a b c"}]}
    response = await http.post("/v1/messages", json=body, headers=HEADERS)

    assert response.json()["content"][0]["text"] == "Re:"
    assert response.json()["stop_reason"] == "max_tokens"


@pytest.mark.parametrize(
    ("body", "status", "kind", "message"),
    [
        ({k: v for k, v in HELLO.items() if k != "max_tokens"}, 400, "invalid_request_error",
         "max_tokens: Field required"),
        ({k: v for k, v in HELLO.items() if k != "model"}, 400, "invalid_request_error",
         "model: Field required"),
        ({**HELLO, "messages": []}, 400, "invalid_request_error",
         "messages: at least one message is required"),
        ({**HELLO, "messages": [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "hello"}]},
         400, "invalid_request_error",
         'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
         'parameter, not "system" as an input message role.'),
        ({**HELLO, "messages": [{"role": "robot", "content": "hi"}]}, 400, "invalid_request_error",
         "messages.0.role: Input should be 'user' or 'assistant'"),
        ({**HELLO, "max_tokens": 0}, 400, "invalid_request_error",
         "max_tokens: Input should be greater than or equal to 1"),
        ({**HELLO, "max_tokens": 200_000}, 400, "invalid_request_error",
         "max_tokens: 200000 > 128000, which is the maximum allowed number of output tokens for "
         "claude-haiku-4-5-20251001"),
        ({**HELLO, "temperature": 1.0}, 400, "invalid_request_error",
         "temperature: Extra inputs are not permitted"),
        ({**HELLO, "model": "claude-9"}, 404, "not_found_error", "model: claude-9"),
        ({**HELLO, "model": "claude-opus-4-20250514"}, 404, "not_found_error",
         "model: claude-opus-4-20250514"),
    ],
)  # fmt: skip
async def test_invalid_bodies_get_anthropics_error_envelope(
    http: httpx.AsyncClient, body: dict[str, Any], status: int, kind: str, message: str
) -> None:
    response = await http.post("/v1/messages", json=body, headers=HEADERS)

    assert response.status_code == status
    assert error_of(response) == {"type": kind, "message": message}


async def test_the_legacy_api_version_still_takes_a_temperature_in_range(
    http: httpx.AsyncClient,
) -> None:
    accepted = await http.post("/v1/messages", json={**HELLO, "temperature": 0.2}, headers=LEGACY)
    refused = await http.post("/v1/messages", json={**HELLO, "temperature": 1.5}, headers=LEGACY)

    assert accepted.status_code == 200
    assert refused.status_code == 400
    assert error_of(refused)["message"] == "temperature: range: 0..1"


async def test_a_body_that_is_not_json_is_rejected(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/v1/messages",
        content=b"{not json",
        headers={**HEADERS, "content-type": "application/json"},
    )

    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


async def test_an_unknown_path_is_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1/nothing", headers=HEADERS)

    assert response.status_code == 404
    assert error_of(response) == {"type": "not_found_error", "message": "Not Found"}


async def test_the_models_list_pages_newest_first_with_cursors(http: httpx.AsyncClient) -> None:
    first = (await http.get("/v1/models", params={"limit": 5}, headers=HEADERS)).json()
    second = (
        await http.get(
            "/v1/models", params={"limit": 5, "after_id": first["last_id"]}, headers=HEADERS
        )
    ).json()
    back = (
        await http.get(
            "/v1/models", params={"limit": 5, "before_id": second["first_id"]}, headers=HEADERS
        )
    ).json()

    assert [model["id"] for model in first["data"]][:3] == [
        "claude-fable-5-2",
        "claude-mythos-5-2",
        "claude-haiku-5-5",
    ]
    assert first["has_more"] is True
    assert (first["first_id"], first["last_id"]) == ("claude-fable-5-2", "claude-opus-5-5")
    assert second["first_id"] == "claude-fable-5-1"
    assert back["data"] == first["data"]
    assert back["has_more"] is False
    model = first["data"][0]
    assert {"type", "id", "display_name", "created_at", "lifecycle"} <= set(model)
    assert model["type"] == "model"


async def test_the_last_page_says_there_is_no_more(http: httpx.AsyncClient) -> None:
    page = (
        await http.get(
            "/v1/models", params={"after_id": "claude-opus-4-5-20251101"}, headers=HEADERS
        )
    ).json()

    assert page["has_more"] is False
    assert page["last_id"] == "claude-3-5-haiku-20241022"


@pytest.mark.parametrize(
    ("params", "message"),
    [({"limit": 0}, "limit: Input should be between 1 and 1000"),
     ({"after_id": "claude-nope"}, "after_id: claude-nope")],
)  # fmt: skip
async def test_bad_paging_parameters_are_refused(
    http: httpx.AsyncClient, params: dict[str, Any], message: str
) -> None:
    response = await http.get("/v1/models", params=params, headers=HEADERS)

    assert response.status_code in (400, 404)
    assert error_of(response)["message"] == message


async def test_the_minute_limit_answers_429_with_anthropics_headers_then_resets() -> None:
    clock = Clock()
    sandbox = create_sandbox(requests_per_minute=2, clock=clock)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        first = await http.post("/v1/messages", json=HELLO, headers=HEADERS)
        clock.now += 20.5
        second = await http.post("/v1/messages", json=HELLO, headers=HEADERS)
        limited = await http.post("/v1/messages", json=HELLO, headers=HEADERS)
        clock.now += 60
        after_reset = await http.post("/v1/messages", json=HELLO, headers=HEADERS)

    reset = "2026-11-18T11:07:40Z"
    assert first.headers["anthropic-ratelimit-requests-limit"] == "2"
    assert first.headers["anthropic-ratelimit-requests-remaining"] == "1"
    assert first.headers["anthropic-ratelimit-requests-reset"] == reset
    assert second.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert limited.status_code == 429
    assert limited.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert limited.headers["anthropic-ratelimit-requests-reset"] == reset
    assert limited.headers["retry-after"] == "40"
    assert error_of(limited)["type"] == "rate_limit_error"
    assert after_reset.status_code == 200


async def test_injected_faults_speak_anthropics_error_shapes(
    http: httpx.AsyncClient, sandbox: AnthropicSandbox
) -> None:
    sandbox.faults.burst_429 = 1
    limited = await http.get("/v1/models", headers=HEADERS)
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 529
    overloaded = await http.get("/v1/models", headers=HEADERS)
    sandbox.faults.error_status = 500
    failed = await http.get("/v1/models", headers=HEADERS)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert error_of(limited)["type"] == "rate_limit_error"
    assert overloaded.status_code == 529
    assert error_of(overloaded) == {"type": "overloaded_error", "message": "Overloaded"}
    assert error_of(failed) == {"type": "api_error", "message": "Internal server error"}


async def test_every_request_that_reaches_the_api_is_recorded(
    http: httpx.AsyncClient, sandbox: AnthropicSandbox
) -> None:
    await http.post("/v1/messages", json=HELLO, headers={"anthropic-version": "2026-10-21"})
    await http.post("/v1/messages", json=HELLO, headers=HEADERS)

    assert [request.api_key for request in sandbox.requests] == [None, SANDBOX_API_KEY]
    assert [request.body for request in sandbox.requests] == [HELLO, HELLO]


def test_resets_are_written_as_rfc_3339_times() -> None:
    assert rfc3339(NOW + 0.2) == "2026-11-18T11:06:41Z"
