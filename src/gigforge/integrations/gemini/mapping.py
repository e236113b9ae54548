"""Pure translations between Gigforge's LLM models and the Gemini API's JSON.

Requests are built in the documented `Content` shape (`{"role", "parts": [{"text"}]}`), which
the SDK takes as plain dicts and sends as they are. Responses are read from the raw JSON body
of `generateContent`, not from SDK attributes, so what is mapped is exactly the documented
`GenerateContentResponse` (https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse)
and a field Google leaves out reads as missing instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gigforge.integrations.framework import ChatMessage, ChatResult, Permanent, Usage
from gigforge.integrations.gemini.pricing import cost_micro_usd
from gigforge.integrations.gemini.spec import SPEC

if TYPE_CHECKING:
    from google.genai.types import ContentDict

MODEL_SAMPLE_SIZE = 10
GENERATE_METHOD = "generateContent"

# Finish reasons that mean the answer was withheld rather than written
# (https://ai.google.dev/api/generate-content#FinishReason).
WITHHELD_FINISH_REASONS = frozenset(
    {"SAFETY", "RECITATION", "LANGUAGE", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII"}
)


def to_contents(messages: Sequence[ChatMessage]) -> list[ContentDict]:
    """The conversation turns: Gemini knows only `user` and `model`; system text goes apart.

    A request of system messages alone has no turn to answer, which Google refuses with 400
    ("contents is not specified"); it is refused here the same way, before any call is made.
    """
    contents: list[ContentDict] = [
        {
            "role": "model" if message.role == "assistant" else "user",
            "parts": [{"text": message.content}],
        }
        for message in messages
        if message.role != "system"
    ]
    if not contents:
        raise Permanent(
            "Gemini needs at least one user or assistant message; system messages only set "
            "its systemInstruction",
            integration=SPEC.slug,
        )
    return contents


def to_system_instruction(messages: Sequence[ChatMessage]) -> ContentDict | None:
    """Every system message, in order, as one `systemInstruction` of text parts."""
    texts = [message.content for message in messages if message.role == "system"]
    if not texts:
        return None
    return {"parts": [{"text": text} for text in texts]}


def to_chat_result(raw: Mapping[str, Any], *, requested_model: str) -> ChatResult:
    """The first candidate's text, the usage and what it cost.

    A blocked prompt (`promptFeedback.blockReason`, no candidates) and an answer withheld by a
    safety or recitation stop are 200s that carry no draft; both become `Permanent` so callers
    do not mistake an empty text for an answer. An answer cut by `maxOutputTokens` is kept as
    it is, even when thinking used the whole budget and the text is empty. Thinking tokens are
    billed as output, so they count as completion tokens. Without `usageMetadata` the token
    counts read 0 and the cost is unknown rather than zero.
    """
    candidates: Sequence[Mapping[str, Any]] = raw.get("candidates") or ()
    if not candidates:
        feedback: Mapping[str, Any] = raw.get("promptFeedback") or {}
        block_reason = feedback.get("blockReason")
        if block_reason:
            raise Permanent(
                f"Gemini: the prompt was blocked ({block_reason})",
                integration=SPEC.slug,
                reason="prompt_blocked",
                block_reason=block_reason,
            )
        raise Permanent("Gemini returned a response without candidates", integration=SPEC.slug)
    candidate = candidates[0]
    content: Mapping[str, Any] = candidate.get("content") or {}
    parts: Sequence[Mapping[str, Any]] = content.get("parts") or ()
    text = "".join(str(part.get("text") or "") for part in parts if not part.get("thought"))
    finish_reason = candidate.get("finishReason")
    if not text and finish_reason in WITHHELD_FINISH_REASONS:
        raise Permanent(
            f"Gemini: the answer was withheld ({finish_reason})",
            integration=SPEC.slug,
            reason="answer_withheld",
            finish_reason=finish_reason,
        )
    model = str(raw.get("modelVersion") or requested_model)
    usage_raw: Mapping[str, Any] | None = raw.get("usageMetadata")
    counts = usage_raw or {}
    usage = Usage(
        prompt_tokens=int(counts.get("promptTokenCount") or 0),
        completion_tokens=int(counts.get("candidatesTokenCount") or 0)
        + int(counts.get("thoughtsTokenCount") or 0),
    )
    cost = None
    if usage_raw is not None:
        cost = cost_micro_usd(
            model,
            prompt_tokens=usage.prompt_tokens,
            output_tokens=usage.completion_tokens,
            cached_tokens=int(counts.get("cachedContentTokenCount") or 0),
        )
    return ChatResult(
        text=text, model=model, usage=usage, finish_reason=finish_reason, cost_micro_usd=cost
    )


def to_model_summary(models: Iterable[tuple[str, Sequence[str]]]) -> dict[str, Any]:
    """What `test()` reports from `GET /v1beta/models`: how many models the key sees, how many
    of them can answer `generateContent`, and a sorted sample of those.

    Each model is its resource name (`models/gemini-2.5-flash`) and its supported methods.
    """
    listed = [(name.removeprefix("models/"), methods) for name, methods in models]
    chat = sorted(name for name, methods in listed if GENERATE_METHOD in methods)
    return {"models": len(listed), "chat_models": len(chat), "model_ids": chat[:MODEL_SAMPLE_SIZE]}
