"""Pure translations between Gigforge's LLM models and Ollama's native API JSON.

Shapes follow https://github.com/ollama/ollama/blob/main/docs/api.md: a chat is
`POST /api/chat` with `stream: false`, answered by one object with `message.content`,
`done_reason` and the token counts `prompt_eval_count` and `eval_count`, any of which a server
may leave out (the prompt count is omitted when the whole prompt came from the cache).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from gigforge.integrations.framework import ChatRequest, ChatResult, Permanent, Usage
from gigforge.integrations.ollama.spec import SPEC

MODEL_SAMPLE_SIZE = 10


def to_chat_body(request: ChatRequest, *, num_ctx: int | None = None) -> dict[str, Any]:
    """The `/api/chat` body; options are sent only when something sets them."""
    options: dict[str, Any] = {}
    if request.max_tokens is not None:
        options["num_predict"] = request.max_tokens
    if request.temperature is not None:
        options["temperature"] = request.temperature
    if num_ctx is not None:
        options["num_ctx"] = num_ctx
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": False,
    }
    if options:
        body["options"] = options
    return body


def to_chat_result(raw: Mapping[str, Any], *, requested_model: str) -> ChatResult:
    """The assistant's message, its token counts and a cost of zero: the model runs locally.

    An `error` field in an answer that is otherwise a success (Ollama streams its errors that
    way) becomes `Permanent` with Ollama's own words.
    """
    if raw.get("error"):
        raise Permanent(f"Ollama: {raw['error']}", integration=SPEC.slug)
    message: Mapping[str, Any] = raw.get("message") or {}
    return ChatResult(
        text=str(message.get("content") or ""),
        model=str(raw.get("model") or requested_model),
        usage=Usage(
            prompt_tokens=int(raw.get("prompt_eval_count") or 0),
            completion_tokens=int(raw.get("eval_count") or 0),
        ),
        finish_reason=raw.get("done_reason"),
        cost_micro_usd=0,
    )


def to_model_summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What `test()` reports from `GET /api/tags`: how many models are pulled, and some."""
    models: Sequence[Mapping[str, Any]] = raw.get("models") or ()
    names = sorted(str(model.get("name") or model.get("model")) for model in models)
    return {"models": len(names), "model_ids": names[:MODEL_SAMPLE_SIZE]}


def error_message(body: object) -> str | None:
    """Ollama's `{"error": "..."}` message, from a body as text or parsed JSON."""
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None
