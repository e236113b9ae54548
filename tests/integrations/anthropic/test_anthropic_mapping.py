"""Pure mapping and pricing, on the documented `message` object and its thinner kin."""

from __future__ import annotations

from typing import Any

import pytest

from gigforge.integrations.anthropic.mapping import (
    message_cost,
    to_chat_result,
    to_model_summary,
    to_system_and_messages,
)
from gigforge.integrations.anthropic.pricing import cost_micro_usd, price_for
from gigforge.integrations.framework import ChatMessage, Permanent


def documented_message() -> dict[str, Any]:
    """Every field of the message object
    (https://platform.claude.com/docs/en/api/messages/create) as the API fills it."""
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Hi! My name is Claude.", "citations": None}],
        "model": "claude-sonnet-4-5-20250929",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "stop_details": None,
        "container": None,
        "usage": {
            "input_tokens": 2095,
            "output_tokens": 503,
            "cache_creation_input_tokens": 2051,
            "cache_read_input_tokens": 2051,
            "cache_creation": {"ephemeral_5m_input_tokens": 2051, "ephemeral_1h_input_tokens": 0},
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": "standard",
            "inference_geo": "global",
        },
    }


def test_a_documented_message_maps_to_text_usage_and_cost() -> None:
    result = to_chat_result(documented_message(), requested_model="claude-sonnet-4-5")

    assert result.text == "Hi! My name is Claude."
    assert result.model == "claude-sonnet-4-5-20250929"
    assert result.finish_reason == "end_turn"
    # Prompt tokens are every input token: uncached, cache writes and cache reads.
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (6197, 503)
    # Sonnet 4.5: 2095 x $3 + 503 x $15 + 2051 x $3.75 (5m writes) + 2051 x $0.30 (reads)
    assert result.cost_micro_usd == 22137


def test_the_minimal_shape_maps_too() -> None:
    """Only the required fields: no usage, no stop reason, as a compatible server may answer."""
    raw = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Hello"}],
    }

    result = to_chat_result(raw, requested_model="claude-haiku-4-5")

    assert result.text == "Hello"
    assert result.model == "claude-haiku-4-5"
    assert result.finish_reason is None
    assert result.usage.total_tokens == 0
    assert result.cost_micro_usd is None


def test_only_text_blocks_make_the_draft_in_their_order() -> None:
    raw = documented_message()
    raw["content"] = [
        {"type": "thinking", "thinking": "The user wants a quote.", "signature": "EqQB"},
        {"type": "text", "text": "Your quote is "},
        {"type": "text", "text": "$400.", "citations": []},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}},
    ]

    assert to_chat_result(raw, requested_model="claude-sonnet-4-5").text == "Your quote is $400."


def test_a_message_with_no_content_has_empty_text() -> None:
    raw = documented_message()
    raw["content"] = []
    raw["stop_reason"] = "max_tokens"

    result = to_chat_result(raw, requested_model="claude-sonnet-4-5")

    assert result.text == ""
    assert result.finish_reason == "max_tokens"


def test_a_refusal_is_permanent_with_its_explanation() -> None:
    raw = documented_message()
    raw["stop_reason"] = "refusal"
    raw["stop_details"] = {
        "type": "refusal",
        "category": "cyber",
        "explanation": "The request could enable malware development.",
    }

    with pytest.raises(Permanent) as raised:
        to_chat_result(raw, requested_model="claude-sonnet-4-5")

    assert raised.value.detail == (
        "Anthropic: the model refused: The request could enable malware development."
    )
    assert raised.value.extensions["reason"] == "refusal"
    assert raised.value.extensions["category"] == "cyber"


def test_a_refusal_without_details_is_permanent_too() -> None:
    raw = {"content": [], "stop_reason": "refusal", "model": "claude-opus-5"}

    with pytest.raises(Permanent, match="no explanation given"):
        to_chat_result(raw, requested_model="claude-opus-5")


def test_one_hour_cache_writes_are_priced_at_twice_the_input_rate() -> None:
    usage = documented_message()["usage"]
    usage["cache_creation"] = {"ephemeral_5m_input_tokens": 1051, "ephemeral_1h_input_tokens": 1000}

    # 2095 x $3 + 503 x $15 + 1051 x $3.75 + 1000 x $6 + 2051 x $0.30
    assert message_cost("claude-sonnet-4-5-20250929", usage) == 24387


def test_cache_writes_without_a_breakdown_are_five_minute_writes() -> None:
    usage = {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 1000}

    assert message_cost("claude-haiku-4-5", usage) == 1250


@pytest.mark.parametrize(
    ("field", "value"),
    [("service_tier", "priority"), ("speed", "fast"), ("inference_geo", "us")],
)
def test_usage_served_off_the_list_price_has_no_known_cost(field: str, value: str) -> None:
    usage = documented_message()["usage"]
    usage[field] = value

    assert message_cost("claude-sonnet-4-5", usage) is None


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-haiku-4-5", 6000),
        ("claude-haiku-4-5-20251001", 6000),
        ("claude-sonnet-4-5-20250929", 18000),
        ("claude-sonnet-5-5", 12000),
        ("claude-opus-5-5", 24000),
        ("claude-opus-4-6", 30000),
        ("claude-fable-5-1", 60000),
        ("claude-fable-5-2", None),
        ("claude-opus-4-20250514", None),
        ("gpt-4o", None),
    ],
)
def test_prices_follow_the_model_or_its_dated_snapshot(model: str, expected: int | None) -> None:
    assert cost_micro_usd(model, input_tokens=1000, output_tokens=1000) == expected


def test_haiku_5_5_bills_a_long_prompt_at_its_higher_rates_output_included() -> None:
    short = cost_micro_usd("claude-haiku-5-5", input_tokens=100_000, output_tokens=1000)
    long = cost_micro_usd("claude-haiku-5-5", input_tokens=100_001, output_tokens=1000)

    assert short == 10_500  # 100,000 x $0.10 + 1,000 x $0.50
    assert long == 52_501  # 100,001 x $0.50 + 1,000 x $2.50, rounded half up


def test_cache_reads_count_towards_haiku_5_5s_prompt_length() -> None:
    cost = cost_micro_usd(
        "claude-haiku-5-5", input_tokens=60_000, output_tokens=0, cache_read_tokens=50_000
    )

    assert cost == 32_500  # 60,000 x $0.50 + 50,000 x $0.05


def test_negative_counts_are_not_trusted() -> None:
    assert cost_micro_usd("claude-haiku-4-5", input_tokens=-5, output_tokens=10) == 50


def test_an_unpriced_model_has_no_price() -> None:
    assert price_for("claude-mythos-preview") is None


def test_system_messages_become_the_system_parameter_in_order() -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Hi"),
        ChatMessage(role="system", content="Answer in English."),
        ChatMessage(role="assistant", content="Hello"),
    ]

    system, turns = to_system_and_messages(messages)

    assert system == "Be brief.\n\nAnswer in English."
    assert turns == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]


def test_a_conversation_without_system_messages_has_no_system_parameter() -> None:
    system, turns = to_system_and_messages([ChatMessage(role="user", content="Hi")])

    assert system is None
    assert turns == [{"role": "user", "content": "Hi"}]


def test_the_model_summary_counts_models_that_are_not_retired() -> None:
    models = [
        {"id": "claude-sonnet-5-5", "lifecycle": "active"},
        {"id": "claude-sonnet-4-5-20250929", "lifecycle": "deprecated"},
        {"id": "claude-opus-4-20250514", "lifecycle": "retired"},
        {"id": "claude-haiku-4-5-20251001"},
    ]

    assert to_model_summary(models) == {
        "models": 3,
        "model_ids": [
            "claude-haiku-4-5-20251001",
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-5-5",
        ],
    }


def test_the_model_summary_shows_a_sorted_sample() -> None:
    models = [{"id": f"model-{number:02d}"} for number in range(15, 0, -1)]

    summary = to_model_summary(models)

    assert summary["models"] == 15
    assert summary["model_ids"] == [f"model-{number:02d}" for number in range(1, 11)]
