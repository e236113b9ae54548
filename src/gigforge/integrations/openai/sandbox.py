"""A local OpenAI: `POST /v1/chat/completions` and `GET /v1/models` with OpenAI's auth check,
error envelope, request-per-minute limit and rate-limit headers.

Replies are deterministic (`framework.sandbox_text`): a proposal brief gets a short cover letter,
anything else a plain reply restating the last user message, and a token is a
whitespace-separated word, so tests can predict text, usage and cost. `max_completion_tokens`
(or `max_tokens`) cuts the reply and sets `finish_reason` to `length`. Reasoning models refuse
`max_tokens` and a non-default `temperature` as the real API does. Every request to those two
endpoints is kept in `requests` (its parsed JSON body and headers) so tests can see what data
left for the provider. Shapes follow https://platform.openai.com/docs/api-reference/chat/create
and https://platform.openai.com/docs/guides/error-codes.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults
from gigforge.integrations.framework.sandbox_text import limit_words, sandbox_reply

SANDBOX_API_KEY = "sk-sandbox-0123456789abcdefghijklmnopqrstuvwxyz"
SANDBOX_ORGANIZATION = "org-sandbox"

# Aliases resolve to dated snapshots, and the response names the snapshot, as OpenAI's does.
DEFAULT_MODELS: Mapping[str, str] = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "o4-mini": "o4-mini-2025-04-16",
}
REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
MESSAGE_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
KNOWN_PARAMETERS = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n",
        "stop", "stream", "stream_options", "user", "seed", "presence_penalty",
        "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "response_format",
        "tools", "tool_choice", "parallel_tool_calls", "store", "metadata", "service_tier",
        "reasoning_effort", "modalities", "audio", "prediction", "prompt_cache_key",
        "safety_identifier", "verbosity", "web_search_options",
    }
)  # fmt: skip
WINDOW_SECONDS = 60.0
CREATED = 1_700_000_000

UNPARSEABLE_BODY = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please contact "
    "us through our help center at help.openai.com.)"
)
MISSING_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
    "blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)


class ErrorReply(Exception):
    """An answer in OpenAI's error envelope; raised inside handlers, rendered by one place."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self.headers = dict(headers or {})

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def render_error(status: int, message: str) -> Response:
    """The FaultInjector's renderer: injected failures in OpenAI's shapes."""
    if status == 429:
        error = ErrorReply(
            429,
            "Rate limit reached for requests. Please try again shortly.",
            type_="requests",
            code="rate_limit_exceeded",
        )
    elif status >= 500:
        error = ErrorReply(
            status,
            "The server had an error while processing your request. Sorry about that!",
            type_="server_error",
        )
    else:
        error = ErrorReply(status, message)
    return error.response()


@dataclass
class ReceivedRequest:
    method: str
    path: str
    authorization: str | None
    headers: dict[str, str]
    body: Any = None


@dataclass
class OpenAISandbox:
    api_key: str = SANDBOX_API_KEY
    models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    requests_per_minute: int = 500
    clock: Callable[[], float] = time.monotonic
    faults: Faults = field(default_factory=Faults)
    requests: list[ReceivedRequest] = field(default_factory=list)
    _window_start: float | None = field(default=None, init=False)
    _window_used: int = field(default=0, init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    app: ASGIApp = field(init=False, repr=False)

    def __post_init__(self) -> None:
        api = Starlette(
            routes=[
                Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
                Route("/v1/models", self.list_models, methods=["GET"]),
            ],
            exception_handlers={404: _invalid_url, 405: _invalid_url},
        )
        self.app = FaultInjector(api, self.faults, render=render_error)

    async def chat_completions(self, request: Request) -> Response:
        try:
            received, limit_headers = await self._admit(request)
            body = received.body
            if not isinstance(body, dict):
                raise ErrorReply(400, UNPARSEABLE_BODY)
            snapshot, limit = self._validate_chat(body)
        except ErrorReply as error:
            return error.response()
        completion = self._complete(body, snapshot, limit)
        return JSONResponse(completion, headers={**limit_headers, **self._request_id()})

    async def list_models(self, request: Request) -> Response:
        try:
            _, limit_headers = await self._admit(request)
        except ErrorReply as error:
            return error.response()
        ids = sorted({*self.models, *self.models.values()})
        data = [
            {"id": model, "object": "model", "created": CREATED, "owned_by": "system"}
            for model in ids
        ]
        return JSONResponse(
            {"object": "list", "data": data}, headers={**limit_headers, **self._request_id()}
        )

    async def _admit(self, request: Request) -> tuple[ReceivedRequest, dict[str, str]]:
        """Record the request, check the key, then spend one request of the minute's limit."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        received = ReceivedRequest(
            method=request.method,
            path=request.url.path,
            authorization=request.headers.get("authorization"),
            headers=dict(request.headers),
            body=body,
        )
        self.requests.append(received)
        self._check_key(received.authorization)
        return received, self._spend_request(body)

    def _check_key(self, authorization: str | None) -> None:
        if not authorization or not authorization.startswith("Bearer "):
            raise ErrorReply(401, MISSING_KEY)
        key = authorization.removeprefix("Bearer ")
        if key != self.api_key:
            raise ErrorReply(
                401,
                f"Incorrect API key provided: {_masked(key)}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )

    def _spend_request(self, body: Any) -> dict[str, str]:
        now = self.clock()
        if self._window_start is None or now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._window_used = now, 0
        reset = self._window_start + WINDOW_SECONDS - now
        headers = {
            "x-ratelimit-limit-requests": str(self.requests_per_minute),
            "x-ratelimit-reset-requests": go_duration(reset),
        }
        if self._window_used >= self.requests_per_minute:
            model = body.get("model") if isinstance(body, dict) else None
            raise ErrorReply(
                429,
                f"Rate limit reached for {model or 'requests'} in organization "
                f"{SANDBOX_ORGANIZATION} on requests per min (RPM): Limit "
                f"{self.requests_per_minute}, Used {self._window_used}, Requested 1. Please try "
                f"again in {go_duration(reset)}. Visit https://platform.openai.com/account/"
                "rate-limits to learn more.",
                type_="requests",
                code="rate_limit_exceeded",
                headers={
                    **headers,
                    "x-ratelimit-remaining-requests": "0",
                    "Retry-After": str(max(1, math.ceil(reset))),
                },
            )
        self._window_used += 1
        remaining = self.requests_per_minute - self._window_used
        return {**headers, "x-ratelimit-remaining-requests": str(remaining)}

    def _validate_chat(self, body: dict[str, Any]) -> tuple[str, int | None]:
        """The snapshot that answers and the output limit, or the error OpenAI would give."""
        for name in body:
            if name not in KNOWN_PARAMETERS:
                raise ErrorReply(400, f"Unrecognized request argument supplied: {name}")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ErrorReply(400, "you must provide a model parameter")
        if "messages" not in body:
            raise ErrorReply(
                400,
                "Missing required parameter: 'messages'.",
                param="messages",
                code="missing_required_parameter",
            )
        _validate_messages(body["messages"])
        if body.get("stream"):
            raise ErrorReply(400, "The sandbox answers whole completions only; set stream=false.")
        snapshot = self._resolve(model)
        reasoning = model.startswith(REASONING_PREFIXES)
        if reasoning and "max_tokens" in body:
            raise ErrorReply(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.",
                param="max_tokens",
                code="unsupported_parameter",
            )
        temperature = body.get("temperature")
        if temperature is not None:
            _check_range("temperature", temperature, 0, 2)
            if reasoning and temperature != 1:
                raise ErrorReply(
                    400,
                    f"Unsupported value: 'temperature' does not support {temperature} with "
                    "this model. Only the default (1) value is supported.",
                    param="temperature",
                    code="unsupported_value",
                )
        limit = None
        for name in ("max_completion_tokens", "max_tokens"):
            value = body.get(name)
            if value is not None:
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ErrorReply(
                        400,
                        f"Invalid '{name}': integer below minimum value. Expected a value >= 1, "
                        f"but got {value} instead.",
                        param=name,
                        code="integer_below_min_value",
                    )
                limit = value if limit is None else min(limit, value)
        return snapshot, limit

    def _resolve(self, model: str) -> str:
        if model in self.models:
            return self.models[model]
        if model in self.models.values():
            return model
        raise ErrorReply(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            code="model_not_found",
        )

    def _complete(self, body: dict[str, Any], snapshot: str, limit: int | None) -> dict[str, Any]:
        messages: list[dict[str, Any]] = body["messages"]
        asked = next(
            (_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
        )
        reply, completion_tokens, cut = limit_words(sandbox_reply(asked), limit)
        finish_reason = "length" if cut else "stop"
        prompt_tokens = sum(len(_text(m.get("content")).split()) for m in messages)
        number = next(self._ids)
        return {
            "id": f"chatcmpl-sandbox{number:06d}",
            "object": "chat.completion",
            "created": CREATED + number,
            "model": snapshot,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": reply,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_sandbox",
        }

    def _request_id(self) -> dict[str, str]:
        return {"x-request-id": f"req_sandbox{len(self.requests):08d}"}


def create_sandbox(
    *,
    api_key: str = SANDBOX_API_KEY,
    models: Mapping[str, str] | None = None,
    requests_per_minute: int = 500,
    clock: Callable[[], float] = time.monotonic,
) -> OpenAISandbox:
    return OpenAISandbox(
        api_key=api_key,
        models=dict(models if models is not None else DEFAULT_MODELS),
        requests_per_minute=requests_per_minute,
        clock=clock,
    )


def go_duration(seconds: float) -> str:
    """A wait as OpenAI writes it in `x-ratelimit-reset-*` (Go's format): `120ms`, `1s`, `6m0s`."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def _validate_messages(messages: Any) -> None:
    if not isinstance(messages, list):
        raise ErrorReply(
            400,
            "Invalid type for 'messages': expected an array of objects.",
            param="messages",
            code="invalid_type",
        )
    if not messages:
        raise ErrorReply(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
            "empty array instead.",
            param="messages",
            code="empty_array",
        )
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in MESSAGE_ROLES:
            raise ErrorReply(
                400,
                f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', "
                "'function', 'tool', and 'developer'.",
                param=f"messages[{index}].role",
                code="invalid_value",
            )
        content = message.get("content")
        if not (isinstance(content, str | list) or (content is None and role == "assistant")):
            raise ErrorReply(
                400,
                f"Invalid type for 'messages[{index}].content': expected one of a string or "
                "array of objects.",
                param=f"messages[{index}].content",
                code="invalid_type",
            )


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ErrorReply(
            400,
            f"Invalid type for '{name}': expected a decimal.",
            param=name,
            code="invalid_type",
        )
    if value < low:
        raise ErrorReply(
            400,
            f"Invalid '{name}': decimal below minimum value. Expected a value >= {low}, but got "
            f"{value} instead.",
            param=name,
            code="decimal_below_min_value",
        )
    if value > high:
        raise ErrorReply(
            400,
            f"Invalid '{name}': decimal above maximum value. Expected a value <= {high}, but got "
            f"{value} instead.",
            param=name,
            code="decimal_above_max_value",
        )


def _text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a content array."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _masked(key: str) -> str:
    if len(key) <= 8:
        return "*" * len(key)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


async def _invalid_url(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return ErrorReply(status, f"Invalid URL ({request.method} {request.url.path})").response()
