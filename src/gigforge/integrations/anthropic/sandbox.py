"""A local Anthropic: `POST /v1/messages` and `GET /v1/models` with Anthropic's `x-api-key`
check, `anthropic-version` header, error envelope, request-per-minute limit and rate-limit headers.

Replies are deterministic (`framework.sandbox_text`): a proposal brief gets a short cover letter,
anything else a plain reply restating the last user message, and a token is a
whitespace-separated word, so tests can predict text, usage and cost. `max_tokens` cuts the reply
and sets `stop_reason` to `max_tokens`. Request bodies are validated as the API does, field by
field in its words; under API version 2026-10-21 (the SDK's) `temperature`, `top_p` and `top_k`
are unknown fields, as they are on the real API. Every request to those two endpoints is kept in
`requests` (its parsed JSON body and headers) so tests can see what data left for the provider.
Shapes follow https://platform.claude.com/docs/en/api/messages/create,
https://platform.claude.com/docs/en/api/models/list, https://platform.claude.com/docs/en/api/errors
and https://platform.claude.com/docs/en/api/rate-limits.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.anthropic._catalogue import DEFAULT_MODELS, aliases
from gigforge.integrations.anthropic.spec import MAX_OUTPUT_TOKENS
from gigforge.integrations.framework.sandbox import FaultInjector, Faults
from gigforge.integrations.framework.sandbox_text import limit_words, sandbox_reply

SANDBOX_API_KEY = "sk-ant-api03-sandbox-0123456789abcdefghijklmnopqrstuvwxyz-0123456789AA"
LEGACY_VERSION = "2023-06-01"
CURRENT_VERSION = "2026-10-21"
WINDOW_SECONDS = 60.0
MODELS_PAGE_DEFAULT = 20
MODELS_PAGE_MAX = 1000

BODY_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream",
        "thinking", "tool_choice", "tools", "service_tier", "container", "cache_control",
        "diagnostics", "inference_geo", "output_config", "speed",
    }
)  # fmt: skip
SAMPLING_FIELDS = frozenset({"temperature", "top_p", "top_k"})
SYSTEM_ROLE_MESSAGE = (
    'Unexpected role "system". The Messages API accepts a top-level `system` parameter, not '
    '"system" as an input message role.'
)
ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class ErrorReply(Exception):
    """An answer in Anthropic's error envelope; raised inside handlers, rendered by one place."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_ or error_type(status)
        self.message = message
        self.headers = dict(headers or {})

    def response(self, request_id: str = "req_sandbox_error") -> Response:
        body = {
            "type": "error",
            "error": {"type": self.type, "message": self.message},
            "request_id": request_id,
        }
        headers = {**self.headers, "request-id": request_id}
        return JSONResponse(body, status_code=self.status, headers=headers)


def error_type(status: int) -> str:
    """Anthropic's error type for a status; other 4xx use `invalid_request_error`, 5xx
    `api_error`."""
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def render_error(status: int, message: str) -> Response:
    """The FaultInjector's renderer: injected failures in Anthropic's shapes."""
    if status == 429:
        message = "Number of requests has exceeded your rate limit. Please try again later."
    elif status == 529:
        message = "Overloaded"
    elif status >= 500:
        message = "Internal server error"
    return ErrorReply(status, message).response()


@dataclass
class ReceivedRequest:
    method: str
    path: str
    api_key: str | None
    headers: dict[str, str]
    query: dict[str, str]
    body: Any = None


@dataclass
class AnthropicSandbox:
    api_key: str = SANDBOX_API_KEY
    models: tuple[Mapping[str, Any], ...] = DEFAULT_MODELS
    requests_per_minute: int = 50
    clock: Callable[[], float] = time.time
    faults: Faults = field(default_factory=Faults)
    requests: list[ReceivedRequest] = field(default_factory=list)
    _names: dict[str, str] = field(init=False)
    _window_start: float | None = field(default=None, init=False)
    _window_used: int = field(default=0, init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    app: ASGIApp = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._names = aliases(self.models)
        api = Starlette(
            routes=[
                Route("/v1/messages", self.create_message, methods=["POST"]),
                Route("/v1/models", self.list_models, methods=["GET"]),
            ],
            exception_handlers={404: _not_found, 405: _not_found},
        )
        self.app = FaultInjector(api, self.faults, render=render_error)

    async def create_message(self, request: Request) -> Response:
        request_id = self._request_id()
        try:
            received, limit_headers = await self._admit(request)
            if not isinstance(received.body, dict):
                raise ErrorReply(400, "There was an issue with the format of your request body.")
            version = received.headers["anthropic-version"]
            model, limit = self._validate_message(received.body, version)
        except ErrorReply as error:
            return error.response(request_id)
        message = self._reply(received.body, model, limit)
        return JSONResponse(message, headers={**limit_headers, "request-id": request_id})

    async def list_models(self, request: Request) -> Response:
        request_id = self._request_id()
        try:
            received, limit_headers = await self._admit(request)
            page = self._page(received.query)
        except ErrorReply as error:
            return error.response(request_id)
        return JSONResponse(page, headers={**limit_headers, "request-id": request_id})

    async def _admit(self, request: Request) -> tuple[ReceivedRequest, dict[str, str]]:
        """Record the request, check the key and version, then spend one of the minute's."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        received = ReceivedRequest(
            method=request.method,
            path=request.url.path,
            api_key=request.headers.get("x-api-key"),
            headers=dict(request.headers),
            query=dict(request.query_params),
            body=body,
        )
        self.requests.append(received)
        if not received.api_key:
            raise ErrorReply(401, "x-api-key header is required")
        if received.api_key != self.api_key:
            raise ErrorReply(401, "invalid x-api-key")
        version = received.headers.get("anthropic-version")
        if not version:
            raise ErrorReply(400, "anthropic-version: header is required")
        if version not in (LEGACY_VERSION, CURRENT_VERSION):
            raise ErrorReply(400, f"anthropic-version: invalid version {version!r}")
        return received, self._spend_request()

    def _spend_request(self) -> dict[str, str]:
        now = self.clock()
        if self._window_start is None or now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        reset_at = self._window_start + WINDOW_SECONDS
        headers = {
            "anthropic-ratelimit-requests-limit": str(self.requests_per_minute),
            "anthropic-ratelimit-requests-reset": rfc3339(reset_at),
        }
        if self._window_used >= self.requests_per_minute:
            raise ErrorReply(
                429,
                f"This request would exceed your organization's rate limit of "
                f"{self.requests_per_minute} requests per minute. For details, refer to: "
                "https://docs.claude.com/en/api/rate-limits. You can see the response headers "
                "for current usage. Please try again later.",
                headers={
                    **headers,
                    "anthropic-ratelimit-requests-remaining": "0",
                    "retry-after": str(max(1, math.ceil(reset_at - now))),
                },
            )
        self._window_used += 1
        remaining = self.requests_per_minute - self._window_used
        return {**headers, "anthropic-ratelimit-requests-remaining": str(remaining)}

    def _validate_message(self, body: dict[str, Any], version: str) -> tuple[str, int]:
        """The model id that answers and the output limit, or the error Anthropic would give."""
        allowed = BODY_FIELDS | SAMPLING_FIELDS if version == LEGACY_VERSION else BODY_FIELDS
        for name in body:
            if name not in allowed:
                raise ErrorReply(400, f"{name}: Extra inputs are not permitted")
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                raise ErrorReply(400, f"{name}: Field required")
        limit = body["max_tokens"]
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ErrorReply(400, "max_tokens: Input should be a valid integer")
        if limit < 1:
            raise ErrorReply(400, "max_tokens: Input should be greater than or equal to 1")
        _validate_messages(body["messages"])
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            raise ErrorReply(400, "system: Input should be a valid string")
        temperature = body.get("temperature")
        if temperature is not None and not (
            isinstance(temperature, int | float) and 0 <= temperature <= 1
        ):
            raise ErrorReply(400, "temperature: range: 0..1")
        if body.get("stream"):
            raise ErrorReply(400, "The sandbox answers whole messages only; set stream to false.")
        model = self._names.get(str(body["model"]))
        if model is None:
            raise ErrorReply(404, f"model: {body['model']}")
        if limit > MAX_OUTPUT_TOKENS:
            raise ErrorReply(
                400,
                f"max_tokens: {limit} > {MAX_OUTPUT_TOKENS}, which is the maximum allowed number "
                f"of output tokens for {model}",
            )
        return model, limit

    def _reply(self, body: dict[str, Any], model: str, limit: int) -> dict[str, Any]:
        messages: list[dict[str, Any]] = body["messages"]
        asked = next(
            (_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        reply, output_tokens, cut = limit_words(sandbox_reply(asked), limit)
        stop_reason = "max_tokens" if cut else "end_turn"
        input_tokens = len(_text(body.get("system")).split()) + sum(
            len(_text(m.get("content")).split()) for m in messages
        )
        number = next(self._ids)
        return {
            "id": f"msg_sandbox{number:06d}",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": reply}],
            "model": model,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                "service_tier": "standard",
            },
        }

    def _page(self, query: Mapping[str, str]) -> dict[str, Any]:
        """One page of the catalogue, newest first; `after_id`/`before_id` are cursors."""
        try:
            limit = int(query.get("limit", MODELS_PAGE_DEFAULT))
        except ValueError:
            raise ErrorReply(400, "limit: Input should be a valid integer") from None
        if not 1 <= limit <= MODELS_PAGE_MAX:
            raise ErrorReply(400, f"limit: Input should be between 1 and {MODELS_PAGE_MAX}")
        ids = [str(model["id"]) for model in self.models]
        before, after = query.get("before_id"), query.get("after_id")
        for cursor, value in (("before_id", before), ("after_id", after)):
            if value is not None and value not in ids:
                raise ErrorReply(404, f"{cursor}: {value}")
        if before is not None:
            window = list(self.models[: ids.index(before)])
            page = window[-limit:]
        else:
            window = list(self.models[ids.index(after) + 1 if after is not None else 0 :])
            page = window[:limit]
        return {
            "data": page,
            "has_more": len(window) > limit,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }

    def _request_id(self) -> str:
        return f"req_sandbox{len(self.requests) + 1:08d}"


def create_sandbox(
    *,
    api_key: str = SANDBOX_API_KEY,
    models: Sequence[Mapping[str, Any]] | None = None,
    requests_per_minute: int = 50,
    clock: Callable[[], float] = time.time,
) -> AnthropicSandbox:
    return AnthropicSandbox(
        api_key=api_key,
        models=tuple(models) if models is not None else DEFAULT_MODELS,
        requests_per_minute=requests_per_minute,
        clock=clock,
    )


def rfc3339(timestamp: float) -> str:
    """A time as Anthropic writes `anthropic-ratelimit-*-reset`: `2026-11-22T11:31:00Z`."""
    return datetime.fromtimestamp(math.ceil(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise ErrorReply(400, "messages: Input should be a valid list")
    if not messages:
        raise ErrorReply(400, "messages: at least one message is required")
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role == "system":
            raise ErrorReply(400, f"messages: {SYSTEM_ROLE_MESSAGE}")
        if role not in ("user", "assistant"):
            raise ErrorReply(400, f"messages.{index}.role: Input should be 'user' or 'assistant'")
        if not isinstance(message.get("content"), str | list):
            raise ErrorReply(400, f"messages.{index}.content: Field required")


def _text(content: Any) -> str:
    """Content as text: a string, or the text blocks of a content array."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return ErrorReply(status, "Not Found" if status == 404 else "Method Not Allowed").response()
