"""Pure translations between Gigforge's LLM models and OpenAI's Chat Completions JSON.

Responses are read from the documented JSON (the SDK object's `to_dict()`), not from SDK
attributes, so a field an OpenAI-compatible server leaves out reads as missing instead of
failing: https://platform.openai.com/docs/api-reference/chat/object
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gigforge.integrations.framework import ChatMessage, ChatResult, Permanent, Usage
from gigforge.integrations.openai.pricing import cost_micro_usd
from gigforge.integrations.openai.spec import SPEC

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

MODEL_SAMPLE_SIZE = 10


def to_message_param(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def to_chat_result(raw: Mapping[str, Any], *, requested_model: str) -> ChatResult:
    """The first choice of a `chat.completion` object, its usage and what it cost.

    A refusal (`message.refusal` with no content) is a 200 that carries no draft; it becomes
    `Permanent` so callers do not mistake an empty text for an answer. Without `usage` the token
    counts read 0 and the cost is unknown rather than zero.
    """
    choices: Sequence[Mapping[str, Any]] = raw.get("choices") or ()
    if not choices:
        raise Permanent("OpenAI returned a completion without choices", integration=SPEC.slug)
    choice = choices[0]
    message: Mapping[str, Any] = choice.get("message") or {}
    content = message.get("content")
    refusal = message.get("refusal")
    if content is None and refusal:
        raise Permanent(
            f"OpenAI: the model refused: {refusal}", integration=SPEC.slug, reason="refusal"
        )
    model = str(raw.get("model") or requested_model)
    usage_raw: Mapping[str, Any] | None = raw.get("usage")
    usage = Usage(
        prompt_tokens=int((usage_raw or {}).get("prompt_tokens") or 0),
        completion_tokens=int((usage_raw or {}).get("completion_tokens") or 0),
    )
    cost = None
    if usage_raw is not None:
        details: Mapping[str, Any] = usage_raw.get("prompt_tokens_details") or {}
        cost = cost_micro_usd(
            model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=int(details.get("cached_tokens") or 0),
        )
    return ChatResult(
        text=str(content or ""),
        model=model,
        usage=usage,
        finish_reason=choice.get("finish_reason"),
        cost_micro_usd=cost,
    )


def to_model_summary(model_ids: Sequence[str]) -> dict[str, Any]:
    """What `test()` reports from `GET /v1/models`: how many models the key sees, and some."""
    ordered = sorted(model_ids)
    return {"models": len(ordered), "model_ids": ordered[:MODEL_SAMPLE_SIZE]}
