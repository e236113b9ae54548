"""Pure translations between Gigforge's LLM models and the Messages API's JSON.

Responses are read from the documented JSON (the SDK object's `to_dict()`), not from SDK
attributes, so a field an Anthropic-compatible server leaves out reads as missing instead of
failing: https://platform.claude.com/docs/en/api/messages/create
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gigforge.integrations.anthropic.pricing import cost_micro_usd
from gigforge.integrations.anthropic.spec import SPEC
from gigforge.integrations.framework import ChatMessage, ChatResult, Permanent, Usage

if TYPE_CHECKING:
    from anthropic.types import MessageParam

MODEL_SAMPLE_SIZE = 10
SYSTEM_SEPARATOR = "\n\n"

# Usage served at the standard list price; anything else (priority tier, fast mode, US-only
# inference) bills at rates `pricing` does not hold.
_LIST_PRICE_SERVICE: Mapping[str, tuple[str, ...]] = {
    "service_tier": ("standard",),
    "speed": ("standard",),
    "inference_geo": ("global",),
}


def to_system_and_messages(
    messages: Iterable[ChatMessage],
) -> tuple[str | None, list[MessageParam]]:
    """The `system` parameter and the `messages` array of a Messages request.

    Anthropic takes the system prompt as a top-level parameter, not as a turn, so every system
    message becomes part of it, in order; the user and assistant turns keep their order.
    """
    system: list[str] = []
    turns: list[MessageParam] = []
    for message in messages:
        if message.role == "system":
            system.append(message.content)
        elif message.role == "assistant":
            turns.append({"role": "assistant", "content": message.content})
        else:
            turns.append({"role": "user", "content": message.content})
    return (SYSTEM_SEPARATOR.join(system) if system else None), turns


def to_chat_result(raw: Mapping[str, Any], *, requested_model: str) -> ChatResult:
    """The text of a `message` object, its usage and what it cost.

    Text is the `text` blocks joined as they came; thinking and tool blocks carry no draft. A
    `refusal` stop is a 200 that carries no draft; it becomes `Permanent` so callers do not
    mistake a cut-off text for an answer. Without `usage` the token counts read 0 and the cost is
    unknown rather than zero.
    """
    blocks: Sequence[Mapping[str, Any]] = raw.get("content") or ()
    text = "".join(str(block.get("text") or "") for block in blocks if block.get("type") == "text")
    stop_reason = raw.get("stop_reason")
    if stop_reason == "refusal":
        details: Mapping[str, Any] = raw.get("stop_details") or {}
        explanation = details.get("explanation") or "no explanation given"
        raise Permanent(
            f"Anthropic: the model refused: {explanation}",
            integration=SPEC.slug,
            reason="refusal",
            category=details.get("category"),
        )
    model = str(raw.get("model") or requested_model)
    usage_raw: Mapping[str, Any] | None = raw.get("usage")
    usage = to_usage(usage_raw or {})
    return ChatResult(
        text=text,
        model=model,
        usage=usage,
        finish_reason=stop_reason,
        cost_micro_usd=message_cost(model, usage_raw) if usage_raw is not None else None,
    )


def to_usage(raw: Mapping[str, Any]) -> Usage:
    """Prompt tokens are all input, cached or not: Anthropic reports the three separately."""
    prompt = sum(
        _count(raw, name)
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    return Usage(prompt_tokens=prompt, completion_tokens=_count(raw, "output_tokens"))


def message_cost(model: str, usage: Mapping[str, Any]) -> int | None:
    """Cache writes are 5-minute writes, the default TTL, except those the `cache_creation`
    breakdown reports as 1-hour writes."""
    for name, list_priced in _LIST_PRICE_SERVICE.items():
        value = usage.get(name)
        if value is not None and value not in list_priced:
            return None
    breakdown: Mapping[str, Any] = usage.get("cache_creation") or {}
    writes_1h = _count(breakdown, "ephemeral_1h_input_tokens")
    writes = usage.get("cache_creation_input_tokens")
    all_writes = (
        int(writes)
        if writes is not None
        else _count(breakdown, "ephemeral_5m_input_tokens") + writes_1h
    )
    writes_1h = min(writes_1h, all_writes)
    return cost_micro_usd(
        model,
        input_tokens=_count(usage, "input_tokens"),
        output_tokens=_count(usage, "output_tokens"),
        cache_write_5m_tokens=all_writes - writes_1h,
        cache_write_1h_tokens=writes_1h,
        cache_read_tokens=_count(usage, "cache_read_input_tokens"),
    )


def to_model_summary(models: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What `test()` reports from `GET /v1/models`: how many models the key can call, and some.

    Retired models stay in the catalogue as a record but refuse every request, so they do not
    count; a listing without `lifecycle` (older API versions, compatible servers) counts all.
    """
    usable = sorted(
        str(model["id"])
        for model in models
        if model.get("id") and model.get("lifecycle") != "retired"
    )
    return {"models": len(usable), "model_ids": usable[:MODEL_SAMPLE_SIZE]}


def _count(raw: Mapping[str, Any], name: str) -> int:
    return int(raw.get(name) or 0)
