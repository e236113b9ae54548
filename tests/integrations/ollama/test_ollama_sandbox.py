"""The sandbox holds to Ollama's native API on its own, with no policy layer in between."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gigforge.integrations.ollama.sandbox import OllamaSandbox

HELLO = {
    "model": "llama3.1:8b",
    "messages": [{"role": "user", "content": "hello"}],
    "stream": False,
}


@pytest.fixture
async def http(sandbox: OllamaSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def error_of(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    message: str = body["error"]
    return message


async def test_a_chat_has_the_documented_shape(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/chat", json=HELLO)

    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "llama3.1:8b"
    assert body["message"] == {"role": "assistant", "content": "Re: hello"}
    assert (body["done"], body["done_reason"]) == (True, "stop")
    assert (body["prompt_eval_count"], body["eval_count"]) == (1, 2)
    assert body["created_at"].endswith("Z")
    for duration in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(body[duration], int)


async def test_num_predict_cuts_the_answer(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/chat", json={**HELLO, "options": {"num_predict": 1}})

    body = response.json()
    assert (body["message"]["content"], body["done_reason"]) == ("Re:", "length")


async def test_the_tags_list_the_pulled_models(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/tags")

    models = response.json()["models"]
    assert [model["name"] for model in models][:2] == ["llama3.1:8b", "llama3.2:latest"]
    first = models[0]
    assert set(first) == {"name", "model", "modified_at", "size", "digest", "details"}
    assert len(first["digest"]) == 64
    assert first["details"]["format"] == "gguf"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({**HELLO, "model": ""}, 400, "model is required"),
        ({key: value for key, value in HELLO.items() if key != "model"}, 400, "model is required"),
        ({**HELLO, "model": "llama9"}, 404, "model 'llama9' not found"),
        ({**HELLO, "model": "nomic-embed-text"}, 400, '"nomic-embed-text" does not support chat'),
        ({**HELLO, "messages": "hello"}, 400,
         "json: cannot unmarshal string into Go struct field ChatRequest.messages of type "
         "[]api.Message"),
        ([HELLO], 400, "json: cannot unmarshal array into Go value of type api.ChatRequest"),
        ({**HELLO, "stream": True}, 400, 'the sandbox answers whole responses only'),
    ],
)  # fmt: skip
async def test_bad_chats_get_ollamas_error_shape(
    http: httpx.AsyncClient, body: Any, status: int, message: str
) -> None:
    response = await http.post("/api/chat", json=body)

    assert response.status_code == status
    assert error_of(response).startswith(message)


async def test_a_missing_or_broken_body_gets_the_decoders_words(http: httpx.AsyncClient) -> None:
    missing = await http.post("/api/chat")
    broken = await http.post("/api/chat", content=b"{not json")

    assert (missing.status_code, error_of(missing)) == (400, "missing request body")
    assert broken.status_code == 400
    assert error_of(broken) == "invalid character 'n' looking for beginning of value"


async def test_an_unknown_path_gets_gos_plain_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/nothing")

    assert response.status_code == 404
    assert response.text == "404 page not found"


async def test_injected_faults_speak_ollamas_shape(
    http: httpx.AsyncClient, sandbox: OllamaSandbox
) -> None:
    sandbox.faults.burst_429 = 1
    limited = await http.get("/api/tags")
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 500
    failed = await http.post("/api/chat", json=HELLO)

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert isinstance(error_of(limited), str)
    assert failed.status_code == 500
    assert error_of(failed) == "llama runner process has terminated: exit status 2"


async def test_every_request_that_reaches_the_api_is_recorded(
    http: httpx.AsyncClient, sandbox: OllamaSandbox
) -> None:
    await http.post("/api/chat", json=HELLO)
    await http.get("/api/tags")

    assert [(r.method, r.path) for r in sandbox.requests] == [
        ("POST", "/api/chat"),
        ("GET", "/api/tags"),
    ]
    assert sandbox.requests[0].body == HELLO
    assert sandbox.requests[1].body is None
