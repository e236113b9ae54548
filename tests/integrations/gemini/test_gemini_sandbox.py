"""The sandbox holds to the Gemini API's protocol on its own, with no policy layer in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gigforge.integrations.gemini.sandbox import SANDBOX_API_KEY, GeminiSandbox, create_sandbox

KEY = {"x-goog-api-key": SANDBOX_API_KEY}
GENERATE = "/v1beta/models/gemini-2.5-flash:generateContent"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http(sandbox: GeminiSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "status"} <= set(body["error"])
    assert body["error"]["code"] == response.status_code
    return body["error"]


async def test_a_request_without_a_key_gets_googles_403(http: httpx.AsyncClient) -> None:
    response = await http.post(GENERATE, json=HELLO)

    assert response.status_code == 403
    error = error_of(response)
    assert error["status"] == "PERMISSION_DENIED"
    assert error["message"].startswith("Method doesn't allow unregistered callers")


async def test_a_wrong_key_gets_400_with_reason_api_key_invalid(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1beta/models", headers={"x-goog-api-key": "AIza-wrong"})

    assert response.status_code == 400
    error = error_of(response)
    assert (error["status"], error["message"]) == (
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
    )
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"


async def test_the_key_may_also_come_as_the_key_parameter(http: httpx.AsyncClient) -> None:
    response = await http.post(GENERATE, params={"key": SANDBOX_API_KEY}, json=HELLO)

    assert response.status_code == 200


async def test_an_answer_has_the_documented_shape(http: httpx.AsyncClient) -> None:
    body = {**HELLO, "systemInstruction": {"parts": [{"text": "Be brief"}]}}

    response = await http.post(GENERATE, json=body, headers=KEY)

    assert response.status_code == 200
    answer = response.json()
    assert answer["candidates"] == [
        {
            "content": {"parts": [{"text": "Re: hello"}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
        }
    ]
    assert answer["usageMetadata"] == {
        "promptTokenCount": 3,
        "candidatesTokenCount": 2,
        "totalTokenCount": 5,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3}],
    }
    assert answer["modelVersion"] == "gemini-2.5-flash"
    assert answer["responseId"].startswith("sandbox")


async def test_snake_case_fields_are_accepted_as_proto_json_allows(
    http: httpx.AsyncClient,
) -> None:
    body = {**HELLO, "generation_config": {"max_output_tokens": 1}}

    response = await http.post(GENERATE, json=body, headers=KEY)

    assert response.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"


async def test_models_are_listed_in_pages_that_end_without_a_token(
    http: httpx.AsyncClient,
) -> None:
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"pageSize": 5}
    while True:
        response = await http.get("/v1beta/models", params=params, headers=KEY)
        pages.append(response.json())
        token = pages[-1].get("nextPageToken")
        if token is None:
            break
        params["pageToken"] = token

    assert [len(page["models"]) for page in pages] == [5, 5, 1]
    first = pages[0]["models"][0]
    assert first["name"] == "models/gemini-2.5-pro"
    assert "generateContent" in first["supportedGenerationMethods"]
    everything = await http.get("/v1beta/models", headers=KEY)
    assert len(everything.json()["models"]) == 11
    assert "nextPageToken" not in everything.json()


async def test_a_page_token_the_sandbox_did_not_issue_is_an_invalid_argument(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/v1beta/models", params={"pageToken": "forged"}, headers=KEY)

    assert response.status_code == 400
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (GENERATE, {**HELLO, "colour": "blue"}, 400,
         'Invalid JSON payload received. Unknown name "colour": Cannot find field.'),
        (GENERATE, {**HELLO, "generationConfig": {"maxTokens": 5}}, 400,
         "Invalid JSON payload received. Unknown name \"maxTokens\" at 'generation_config': "
         "Cannot find field."),
        (GENERATE, {"contents": []}, 400,
         "* GenerateContentRequest.contents: contents is not specified\n"),
        (GENERATE, {"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}, 400,
         "Please use a valid role: user, model."),
        (GENERATE, {"contents": [{"role": "user", "parts": []}]}, 400,
         "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n"),
        ("/v1beta/models/gemini-9:generateContent", HELLO, 404,
         "models/gemini-9 is not found for API version v1beta, or is not supported for "
         "generateContent."),
        ("/v1beta/models/text-embedding-004:generateContent", HELLO, 404,
         "models/text-embedding-004 is not found for API version v1beta"),
    ],
)  # fmt: skip
async def test_invalid_requests_get_googles_error_envelope(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, message: str
) -> None:
    response = await http.post(path, json=body, headers=KEY)

    assert response.status_code == status
    assert error_of(response)["message"].startswith(message)


async def test_an_unknown_field_names_itself_in_a_bad_request_detail(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(GENERATE, json={**HELLO, "colour": "blue"}, headers=KEY)

    detail = error_of(response)["details"][0]
    assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert "colour" in detail["fieldViolations"][0]["description"]


async def test_a_body_that_is_not_json_is_rejected(http: httpx.AsyncClient) -> None:
    response = await http.post(
        GENERATE, content=b"{not json", headers={**KEY, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert error_of(response)["message"].startswith("Invalid JSON payload received.")


async def test_a_blocked_prompt_is_a_200_with_prompt_feedback(http: httpx.AsyncClient) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "about the forbidden-topic"}]}]}

    response = await http.post(GENERATE, json=body, headers=KEY)

    assert response.status_code == 200
    answer = response.json()
    assert "candidates" not in answer
    assert answer["promptFeedback"] == {"blockReason": "PROHIBITED_CONTENT"}


async def test_an_unknown_path_is_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get("/v1beta/nothing", headers=KEY)

    assert response.status_code == 404
    assert error_of(response) == {
        "code": 404,
        "message": "Method not found.",
        "status": "NOT_FOUND",
    }


async def test_the_per_model_quota_answers_429_with_retry_info_then_resets() -> None:
    clock = Clock()
    sandbox = create_sandbox(requests_per_minute=2, clock=clock)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        first = await http.post(GENERATE, json=HELLO, headers=KEY)
        clock.now += 20.5
        second = await http.post(GENERATE, json=HELLO, headers=KEY)
        limited = await http.post(GENERATE, json=HELLO, headers=KEY)
        other_model = await http.post(
            "/v1beta/models/gemini-2.5-pro:generateContent", json=HELLO, headers=KEY
        )
        clock.now += 40
        after_reset = await http.post(GENERATE, json=HELLO, headers=KEY)

    assert (first.status_code, second.status_code) == (200, 200)
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
    error = error_of(limited)
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("You exceeded your current quota")
    types = [detail["@type"].rsplit(".", 1)[-1] for detail in error["details"]]
    assert types == ["QuotaFailure", "Help", "RetryInfo"]
    assert error["details"][0]["violations"][0]["quotaDimensions"]["model"] == "gemini-2.5-flash"
    assert error["details"][2]["retryDelay"] == "40s"
    assert other_model.status_code == 200
    assert after_reset.status_code == 200


async def test_injected_faults_speak_googles_error_shapes(
    http: httpx.AsyncClient, sandbox: GeminiSandbox
) -> None:
    sandbox.faults.burst_429 = 1
    limited = await http.get("/v1beta/models", headers=KEY)
    sandbox.faults.error_rate = 1.0
    failed = await http.get("/v1beta/models", headers=KEY)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert error_of(limited)["status"] == "RESOURCE_EXHAUSTED"
    assert failed.status_code == 503
    assert error_of(failed) == {
        "code": 503,
        "message": "The model is overloaded. Please try again later.",
        "status": "UNAVAILABLE",
    }


async def test_every_request_that_reaches_the_api_is_recorded(
    http: httpx.AsyncClient, sandbox: GeminiSandbox
) -> None:
    await http.post(GENERATE, json=HELLO)
    await http.post(GENERATE, json=HELLO, headers=KEY)
    await http.get("/v1beta/models", params={"pageSize": 3}, headers=KEY)

    assert [request.api_key for request in sandbox.requests] == [
        None,
        SANDBOX_API_KEY,
        SANDBOX_API_KEY,
    ]
    assert [request.body for request in sandbox.requests] == [HELLO, HELLO, None]
    assert sandbox.requests[-1].query == {"pageSize": "3"}
