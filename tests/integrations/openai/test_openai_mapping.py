"""Pure mapping and pricing, on the documented `chat.completion` object and its thinner kin."""

from __future__ import annotations

from typing import Any

import pytest

from gigforge.integrations.framework import ChatMessage, Permanent
from gigforge.integrations.openai.mapping import (
    to_chat_result,
    to_message_param,
    to_model_summary,
)
from gigforge.integrations.openai.pricing import cost_micro_usd, price_for


def documented_completion() -> dict[str, Any]:
    """Every field of the chat completion object
    (https://platform.openai.com/docs/api-reference/chat/object) as the API fills it."""
    return {
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "The image shows a wooden boardwalk path.",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 1117,
            "completion_tokens": 46,
            "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035",
    }


def test_a_documented_completion_maps_to_text_usage_and_cost() -> None:
    result = to_chat_result(documented_completion(), requested_model="gpt-4o")

    assert result.text == "The image shows a wooden boardwalk path."
    assert result.model == "gpt-4o-2024-08-06"
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1117, 46)
    # gpt-4o: 1117 x $2.50 + 46 x $10.00 per million tokens
    assert result.cost_micro_usd == 3253


def test_the_minimal_legacy_shape_maps_too() -> None:
    """The reference's older example, with the optional `usage` and `finish_reason` left out."""
    raw = {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1677652288,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there"}}],
    }

    result = to_chat_result(raw, requested_model="gpt-4o-mini")

    assert result.text == "Hello there"
    assert result.model == "gpt-4o-mini"
    assert result.finish_reason is None
    assert result.usage.total_tokens == 0
    assert result.cost_micro_usd is None


def test_cached_prompt_tokens_are_priced_at_the_cached_rate() -> None:
    raw = documented_completion()
    raw["usage"]["prompt_tokens"] = 1000
    raw["usage"]["completion_tokens"] = 100
    raw["usage"]["prompt_tokens_details"]["cached_tokens"] = 800

    result = to_chat_result(raw, requested_model="gpt-4o")

    # 200 x $2.50 + 800 x $1.25 + 100 x $10.00 per million tokens
    assert result.cost_micro_usd == 2500


def test_a_completion_with_tool_calls_and_no_content_has_empty_text() -> None:
    raw = documented_completion()
    raw["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": []}
    raw["choices"][0]["finish_reason"] = "tool_calls"

    result = to_chat_result(raw, requested_model="gpt-4o")

    assert result.text == ""
    assert result.finish_reason == "tool_calls"


def test_a_refusal_is_permanent_with_the_models_words() -> None:
    raw = documented_completion()
    raw["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "refusal": "I can't help with that.",
    }

    with pytest.raises(Permanent) as raised:
        to_chat_result(raw, requested_model="gpt-4o")

    assert raised.value.detail == "OpenAI: the model refused: I can't help with that."
    assert raised.value.extensions["reason"] == "refusal"


def test_a_completion_without_choices_is_permanent() -> None:
    with pytest.raises(Permanent):
        to_chat_result({"object": "chat.completion", "choices": []}, requested_model="gpt-4o")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", 750),
        ("gpt-4o-mini-2024-07-18", 750),
        ("gpt-4.1-mini-2025-04-14", 2000),
        ("gpt-4o-2024-05-13", 20000),
        ("gpt-5-nano", 450),
        ("ft:gpt-4o-mini-2024-07-18:acme::abc123", None),
        ("llama-3.1-70b-instruct", None),
    ],
)
def test_prices_follow_the_model_or_its_dated_snapshot(model: str, expected: int | None) -> None:
    assert cost_micro_usd(model, prompt_tokens=1000, completion_tokens=1000) == expected


def test_cached_tokens_beyond_the_prompt_are_not_trusted() -> None:
    assert cost_micro_usd("gpt-4o", prompt_tokens=10, completion_tokens=0, cached_tokens=50) == 13


def test_an_unpriced_model_has_no_price() -> None:
    assert price_for("gpt-3.5-turbo-instruct") is None


@pytest.mark.parametrize("role", ["system", "user", "assistant"])
def test_messages_keep_their_role_and_content(role: str) -> None:
    message = ChatMessage(role=role, content="Hi")  # type: ignore[arg-type]

    assert to_message_param(message) == {"role": role, "content": "Hi"}


def test_the_model_summary_counts_all_and_shows_a_sorted_sample() -> None:
    ids = [f"model-{number:02d}" for number in range(15, 0, -1)]

    summary = to_model_summary(ids)

    assert summary["models"] == 15
    assert summary["model_ids"] == [f"model-{number:02d}" for number in range(1, 11)]
