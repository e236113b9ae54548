"""A local Ollama: `POST /api/chat` and `GET /api/tags` with Ollama's error shape,
`{"error": "<message>"}`, and its messages for a missing body, a missing or unknown model and a
model that cannot chat (https://github.com/ollama/ollama/blob/main/server/routes.go).

Replies are deterministic (`framework.sandbox_text`): a proposal brief gets a short cover letter,
anything else a plain reply restating the last user message, and a token is a
whitespace-separated word, so tests can predict text and counts. `options.num_predict` cuts the
reply and sets `done_reason` to `length`. A model name without a tag means `:latest`, as in
Ollama, and the answer names the model as it was asked for. The sandbox answers whole responses
only: a chat must say `"stream": false` (Ollama would stream NDJSON otherwise). Ollama has no
authentication, so neither has the sandbox. Every request to those two endpoints is kept in
`requests` so tests can see what was sent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, json_error
from gigforge.integrations.framework.sandbox_text import limit_words, sandbox_reply

FAULT_MESSAGES = {
    500: "llama runner process has terminated: exit status 2",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
GO_KINDS = {str: "string", int: "number", float: "number", bool: "bool", list: "array"}


def _model(
    name: str, *, family: str, size: int, parameter_size: str, quantization: str = "Q4_K_M"
) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-10-02T09:14:27.512391877Z",
        "size": size,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": parameter_size,
            "quantization_level": quantization,
        },
    }


DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    _model("llama3.1:8b", family="llama", size=4_920_753_328, parameter_size="8.0B"),
    _model("llama3.2:latest", family="llama", size=2_019_393_189, parameter_size="3.2B"),
    _model("qwen2.5:7b", family="qwen2", size=4_683_087_332, parameter_size="7.6B"),
    _model("mistral:latest", family="llama", size=4_372_824_384, parameter_size="7.2B"),
    _model("gemma3:4b", family="gemma3", size=3_338_801_804, parameter_size="4.3B"),
    _model(
        "nomic-embed-text:latest",
        family="nomic-bert",
        size=274_302_450,
        parameter_size="137M",
        quantization="F16",
    ),
)
EMBEDDING_ONLY = frozenset({"nomic-embed-text:latest"})


class ErrorReply(Exception):
    """An answer in Ollama's error shape; raised inside handlers, rendered by one place."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return json_error(self.status, self.message)


def render_error(status: int, message: str) -> Response:
    """The FaultInjector's renderer: injected failures in Ollama's shape and words."""
    return json_error(status, FAULT_MESSAGES.get(status, message))


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any = None


@dataclass
class OllamaSandbox:
    models: Sequence[Mapping[str, Any]] = DEFAULT_MODELS
    embedding_only: Collection[str] = EMBEDDING_ONLY
    faults: Faults = field(default_factory=Faults)
    requests: list[ReceivedRequest] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    app: ASGIApp = field(init=False, repr=False)

    def __post_init__(self) -> None:
        api = Starlette(
            routes=[
                Route("/api/chat", self.chat, methods=["POST"]),
                Route("/api/tags", self.tags, methods=["GET"]),
            ],
            exception_handlers={404: _page_not_found, 405: _page_not_found},
        )
        self.app = FaultInjector(api, self.faults, render=render_error)

    async def chat(self, request: Request) -> Response:
        received = await self._record(request)
        try:
            body = _chat_body(received.body)
            model = self._chat_model(body.get("model"))
        except ErrorReply as error:
            return error.response()
        return JSONResponse(self._answer(model, body))

    async def tags(self, request: Request) -> Response:
        await self._record(request)
        return JSONResponse({"models": [dict(model) for model in self.models]})

    async def _record(self, request: Request) -> ReceivedRequest:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        received = ReceivedRequest(
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            body=body,
        )
        self.requests.append(received)
        return received

    def _chat_model(self, asked: Any) -> str:
        if not isinstance(asked, str) or not asked:
            raise ErrorReply(400, "model is required")
        name = asked if ":" in asked else f"{asked}:latest"
        if not any(model["name"] == name for model in self.models):
            raise ErrorReply(404, f"model '{asked}' not found")
        if name in self.embedding_only:
            raise ErrorReply(400, f'"{asked}" does not support chat')
        return asked

    def _answer(self, model: str, body: Mapping[str, Any]) -> dict[str, Any]:
        messages: list[Mapping[str, Any]] = body.get("messages") or []
        options: Mapping[str, Any] = body.get("options") or {}
        asked = next(
            (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        limit = options.get("num_predict")
        reply, eval_count, cut = limit_words(
            sandbox_reply(asked), limit if isinstance(limit, int) and limit >= 0 else None
        )
        done_reason = "length" if cut else "stop"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        number = next(self._ids)
        return {
            "model": model,
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message": {"role": "assistant", "content": reply},
            "done_reason": done_reason,
            "done": True,
            "total_duration": 1_000_000_000 + number,
            "load_duration": 5_025_959,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": 325_953_000,
            "eval_count": eval_count,
            "eval_duration": 600_000_000,
        }


def create_sandbox(
    *,
    models: Sequence[Mapping[str, Any]] = DEFAULT_MODELS,
    embedding_only: Collection[str] = EMBEDDING_ONLY,
) -> OllamaSandbox:
    return OllamaSandbox(models=tuple(models), embedding_only=frozenset(embedding_only))


def _chat_body(body: Any) -> dict[str, Any]:
    """The request as Ollama's JSON binding would take it, or the error Go's decoder gives."""
    if body is None:
        raise ErrorReply(400, "missing request body")
    if isinstance(body, str):
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            character = body[exc.pos] if exc.pos < len(body) else ""
            raise ErrorReply(
                400, f"invalid character '{character}' looking for beginning of value"
            ) from None
    if not isinstance(body, dict):
        kind = GO_KINDS.get(type(body), "value")
        raise ErrorReply(
            400, f"json: cannot unmarshal {kind} into Go value of type api.ChatRequest"
        )
    if body.get("stream", True) is not False:
        raise ErrorReply(400, 'the sandbox answers whole responses only; send "stream": false')
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        kind = GO_KINDS.get(type(messages), "object")
        raise ErrorReply(
            400,
            f"json: cannot unmarshal {kind} into Go struct field ChatRequest.messages of type "
            "[]api.Message",
        )
    return body


async def _page_not_found(request: Request, exc: Exception) -> Response:
    """Ollama's router answers an unknown path (or method) with Go's plain-text 404."""
    return PlainTextResponse("404 page not found", status_code=404)
