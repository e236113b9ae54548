"""Pure mapping and error retelling, on the documented `/api/chat` and `/api/tags` shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gigforge.integrations.framework import (
    ChatMessage,
    ChatRequest,
    IntegrationError,
    NotSupported,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.ollama.errors import ollama_errors, retold
from gigforge.integrations.ollama.mapping import (
    error_message,
    to_chat_body,
    to_chat_result,
    to_model_summary,
)

SERVER = "http://127.0.0.1:11434"


def documented_chat() -> dict[str, Any]:
    """A non-streamed `/api/chat` answer as the API reference shows it
    (https://github.com/ollama/ollama/blob/main/docs/api.md#chat-request-no-streaming)."""
    return {
        "model": "llama3.2",
        "created_at": "2023-12-12T14:13:43.416799Z",
        "message": {"role": "assistant", "content": "Hello! How are you today?"},
        "done_reason": "stop",
        "done": True,
        "total_duration": 5191566416,
        "load_duration": 2154458,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 383809000,
        "eval_count": 298,
        "eval_duration": 4799921000,
    }


def documented_tags() -> dict[str, Any]:
    return {
        "models": [
            {
                "name": "deepseek-r1:latest",
                "model": "deepseek-r1:latest",
                "modified_at": "2025-05-10T08:06:48.639712648-07:00",
                "size": 4683075271,
                "digest": "0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163",
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "qwen2",
                    "families": ["qwen2"],
                    "parameter_size": "7.6B",
                    "quantization_level": "Q4_K_M",
                },
            },
            {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189},
        ]
    }


def test_a_documented_chat_maps_to_text_counts_and_zero_cost() -> None:
    result = to_chat_result(documented_chat(), requested_model="llama3.2")

    assert result.text == "Hello! How are you today?"
    assert result.model == "llama3.2"
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (26, 298)
    assert result.cost_micro_usd == 0


def test_a_chat_without_counts_or_done_reason_maps_too() -> None:
    """Older servers send no `done_reason`; a fully cached prompt has no `prompt_eval_count`."""
    raw = {"message": {"role": "assistant", "content": "Hi"}, "done": True}

    result = to_chat_result(raw, requested_model="mistral")

    assert (result.text, result.model, result.finish_reason) == ("Hi", "mistral", None)
    assert result.usage.total_tokens == 0
    assert result.cost_micro_usd == 0


def test_an_error_inside_a_success_is_permanent_with_ollamas_message() -> None:
    with pytest.raises(Permanent) as raised:
        to_chat_result({"error": "an error was encountered while running the model"},
                       requested_model="llama3.2")  # fmt: skip

    assert raised.value.detail == "Ollama: an error was encountered while running the model"


def test_the_chat_body_carries_roles_and_only_the_options_set() -> None:
    request = ChatRequest(
        model="qwen2.5:7b",
        messages=[
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Hi"),
            ChatMessage(role="assistant", content="Hello"),
        ],
        temperature=0.0,
    )

    assert to_chat_body(request) == {
        "model": "qwen2.5:7b",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
        ],
        "stream": False,
        "options": {"temperature": 0.0},
    }
    assert to_chat_body(request, num_ctx=8192)["options"] == {"temperature": 0.0, "num_ctx": 8192}


def test_the_model_summary_counts_the_pulled_models_sorted() -> None:
    assert to_model_summary(documented_tags()) == {
        "models": 2,
        "model_ids": ["deepseek-r1:latest", "llama3.2:latest"],
    }
    assert to_model_summary({"models": []}) == {"models": 0, "model_ids": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"error": "model \\"x\\" not found, try pulling it first"}',
         'model "x" not found, try pulling it first'),
        ({"error": "model is required"}, "model is required"),
        ("404 page not found", None),
        ({"detail": "nope"}, None),
        (None, None),
    ],
)  # fmt: skip
def test_ollamas_error_message_is_read_from_its_body(body: object, message: str | None) -> None:
    assert error_message(body) == message


@pytest.mark.parametrize("kind", [Permanent, Transient])
def test_a_transport_error_takes_ollamas_message_and_keeps_its_class(
    kind: type[IntegrationError],
) -> None:
    body = json.dumps({"error": "model 'llama9' not found"})
    error = kind("Ollama rejected it", integration="ollama", status=404, body=body)

    told = retold(error, server=SERVER)

    assert type(told) is kind
    assert told.detail == "Ollama: model 'llama9' not found"
    assert told.upstream_status == 404


def test_a_rate_limit_keeps_its_wait() -> None:
    body = json.dumps({"error": "too many requests"})
    error = RateLimited("slow down", integration="ollama", retry_after=7.0, status=429, body=body)

    told = retold(error, server=SERVER)

    assert isinstance(told, RateLimited)
    assert told.retry_after == 7.0
    assert told.detail == "Ollama: too many requests"


def test_errors_without_ollamas_body_or_a_network_cause_are_left_alone() -> None:
    proxy = Permanent("rejected", integration="ollama", status=401, body="<html>401</html>")

    assert retold(proxy, server=SERVER) is proxy


def test_the_guard_passes_other_errors_through_unchanged() -> None:
    original = NotSupported("no", integration="ollama")

    with pytest.raises(NotSupported) as raised, ollama_errors(SERVER):
        raise original

    assert raised.value is original
