"""Pure mapping and pricing, on the documented `GenerateContentResponse` and its thinner kin."""

from __future__ import annotations

from typing import Any

import pytest

from gigforge.integrations.framework import ChatMessage, Permanent
from gigforge.integrations.gemini.mapping import (
    to_chat_result,
    to_contents,
    to_model_summary,
    to_system_instruction,
)
from gigforge.integrations.gemini.pricing import cost_micro_usd, price_for


def documented_response() -> dict[str, Any]:
    """A `generateContent` answer with the fields the API fills for a text prompt
    (https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse)."""
    return {
        "candidates": [
            {
                "content": {
                    "parts": [{"text": "AI learns patterns from data to make predictions."}],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 8,
            "candidatesTokenCount": 10,
            "totalTokenCount": 1049,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
            "thoughtsTokenCount": 1031,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mAitaLmkHPPlz7IPvtfUqQ4",
    }


def test_a_documented_response_maps_to_text_usage_and_cost() -> None:
    result = to_chat_result(documented_response(), requested_model="gemini-2.5-flash")

    assert result.text == "AI learns patterns from data to make predictions."
    assert result.model == "gemini-2.5-flash"
    assert result.finish_reason == "STOP"
    # Thinking tokens are billed as output, so they count as completion tokens.
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (8, 1041)
    # 8 x $0.30 + 1041 x $2.50 per million tokens = 2604.9 micro-dollars
    assert result.cost_micro_usd == 2605


def test_the_minimal_shape_maps_too() -> None:
    """Only `candidates` is certain; usage, model version and finish reason may be absent."""
    raw = {"candidates": [{"content": {"parts": [{"text": "Hello"}, {"text": " there"}]}}]}

    result = to_chat_result(raw, requested_model="gemini-2.0-flash")

    assert result.text == "Hello there"
    assert result.model == "gemini-2.0-flash"
    assert result.finish_reason is None
    assert result.usage.total_tokens == 0
    assert result.cost_micro_usd is None


def test_thought_summaries_are_not_part_of_the_answer() -> None:
    raw = documented_response()
    raw["candidates"][0]["content"]["parts"] = [
        {"text": "Let me think about the client's brief...", "thought": True},
        {"text": "Here is the proposal."},
    ]

    assert to_chat_result(raw, requested_model="gemini-2.5-pro").text == "Here is the proposal."


def test_an_answer_cut_by_the_token_limit_is_kept_even_when_empty() -> None:
    raw = documented_response()
    raw["candidates"][0] = {"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}

    result = to_chat_result(raw, requested_model="gemini-2.5-flash")

    assert result.text == ""
    assert result.finish_reason == "MAX_TOKENS"


def test_a_blocked_prompt_is_permanent_with_the_reason() -> None:
    raw = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7},
        "modelVersion": "gemini-2.5-flash",
    }

    with pytest.raises(Permanent) as raised:
        to_chat_result(raw, requested_model="gemini-2.5-flash")

    assert raised.value.detail == "Gemini: the prompt was blocked (SAFETY)"
    assert raised.value.extensions["block_reason"] == "SAFETY"


@pytest.mark.parametrize("finish_reason", ["SAFETY", "RECITATION", "PROHIBITED_CONTENT"])
def test_a_withheld_answer_is_permanent(finish_reason: str) -> None:
    raw = documented_response()
    raw["candidates"][0] = {"finishReason": finish_reason, "index": 0}

    with pytest.raises(Permanent) as raised:
        to_chat_result(raw, requested_model="gemini-2.5-flash")

    assert raised.value.extensions == {
        "integration": "gemini",
        "upstream_status": None,
        "reason": "answer_withheld",
        "finish_reason": finish_reason,
    }


def test_a_response_without_candidates_or_reason_is_permanent() -> None:
    with pytest.raises(Permanent, match="without candidates"):
        to_chat_result({"candidates": []}, requested_model="gemini-2.5-flash")


def test_cached_prompt_tokens_are_priced_at_the_caching_rate() -> None:
    raw = documented_response()
    raw["usageMetadata"] = {
        "promptTokenCount": 10_000,
        "cachedContentTokenCount": 8_000,
        "candidatesTokenCount": 100,
    }

    result = to_chat_result(raw, requested_model="gemini-2.5-flash")

    # 2000 x $0.30 + 8000 x $0.03 + 100 x $2.50 per million tokens
    assert result.cost_micro_usd == 1090


def test_a_prompt_over_200k_tokens_is_priced_at_the_long_rates() -> None:
    assert cost_micro_usd("gemini-2.5-pro", prompt_tokens=200_000, output_tokens=1000) == 260_000
    assert cost_micro_usd("gemini-2.5-pro", prompt_tokens=200_001, output_tokens=1000) == 515_003


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gemini-2.5-flash", 2800),
        ("models/gemini-2.5-flash", 2800),
        ("gemini-2.0-flash-001", 500),
        ("gemini-2.0-flash-lite", 375),
        ("gemini-3-pro-preview", 14000),
        ("gemini-2.5-flash-preview-09-2025", None),
        ("tunedModels/my-proposal-writer", None),
        ("gemma-3-27b-it", None),
    ],
)
def test_prices_follow_the_model_its_name_or_its_stable_version(
    model: str, expected: int | None
) -> None:
    assert cost_micro_usd(model, prompt_tokens=1000, output_tokens=1000) == expected


def test_a_model_without_a_caching_rate_bills_cached_tokens_as_input() -> None:
    lite = price_for("gemini-2.0-flash-lite")

    assert lite is not None
    assert lite.standard.cached_input is None
    assert cost_micro_usd(
        "gemini-2.0-flash-lite", prompt_tokens=1000, output_tokens=0, cached_tokens=1000
    ) == 75  # fmt: skip


def test_messages_become_user_and_model_turns_and_system_text_stands_apart() -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="assistant", content="Hello"),
        ChatMessage(role="system", content="Use British English."),
    ]

    assert to_contents(messages) == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Hello"}]},
    ]
    assert to_system_instruction(messages) == {
        "parts": [{"text": "Be brief."}, {"text": "Use British English."}]
    }
    assert to_system_instruction(messages[1:3]) is None


def test_the_model_summary_counts_all_and_samples_those_that_can_chat() -> None:
    listed = [
        (f"models/chat-{number:02d}", ["generateContent", "countTokens"])
        for number in range(12, 0, -1)
    ]
    listed.append(("models/embedder", ["embedContent"]))

    summary = to_model_summary(listed)

    assert summary["models"] == 13
    assert summary["chat_models"] == 12
    assert summary["model_ids"] == [f"chat-{number:02d}" for number in range(1, 11)]
