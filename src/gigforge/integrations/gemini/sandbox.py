"""A local Gemini API: `POST /v1beta/models/{model}:generateContent` and `GET /v1beta/models`
with Google's key check, error envelope, per-model request quota and page tokens.

Replies are deterministic (`framework.sandbox_text`): a proposal brief gets a short cover letter,
anything else a plain reply restating the last user message, and a token is a
whitespace-separated word, so tests can predict text, usage and cost. `maxOutputTokens` cuts the
reply and sets `finishReason` to `MAX_TOKENS`. A prompt containing one of `blocked_terms` is
refused the way Google refuses one, with a 200 whose `promptFeedback.blockReason` is set and no
candidates. Every request to those two endpoints is kept in `requests` (its parsed JSON body and
headers) so tests can see what data left for the provider. Shapes follow
https://ai.google.dev/api/generate-content, https://ai.google.dev/api/models and
https://ai.google.dev/gemini-api/docs/troubleshooting: a wrong key is 400 `INVALID_ARGUMENT`
with reason `API_KEY_INVALID`, a missing one 403 `PERMISSION_DENIED`, a spent quota 429
`RESOURCE_EXHAUSTED` with `QuotaFailure` and `RetryInfo` details and no `Retry-After` header.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
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
from gigforge.integrations.gemini._models import DEFAULT_MODELS

SANDBOX_API_KEY = "AIzaSyD-sandbox-0123456789abcdefghijklm"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
WINDOW_SECONDS = 60.0
RATE_LIMITS_URL = "https://ai.google.dev/gemini-api/docs/rate-limits"

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
FAULT_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "Deadline expired before operation could complete.",
}
UNREGISTERED_CALLER = (
    "Method doesn't allow unregistered callers (callers without established identity). Please "
    "use API Key or other form of API consumer identity to call this API."
)
INVALID_KEY = "API key not valid. Please pass a valid API key."
INVALID_ARGUMENT = "Request contains an invalid argument."

_REQUEST_FIELDS = (
    "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
    "cachedContent",
)  # fmt: skip
_GENERATION_FIELDS = (
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
    "responseModalities", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
    "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
    "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig",
    "mediaResolution",
)  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _both_spellings(names: Sequence[str]) -> frozenset[str]:
    """Proto JSON accepts a field's lowerCamel name and its original snake_case name."""
    return frozenset(names) | {_snake(name) for name in names}


REQUEST_FIELDS = _both_spellings(_REQUEST_FIELDS)
GENERATION_FIELDS = _both_spellings(_GENERATION_FIELDS)


class ErrorReply(Exception):
    """An answer in Google's error envelope; raised inside handlers, rendered by one place."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        error: dict[str, Any] = {
            "code": code,
            "message": message,
            "status": status or STATUS_NAMES.get(code, "UNKNOWN"),
        }
        if details:
            error["details"] = [dict(detail) for detail in details]
        self.body = {"error": error}

    def response(self) -> Response:
        return JSONResponse(self.body, status_code=self.code)


def render_error(status: int, message: str) -> Response:
    """The FaultInjector's renderer: injected failures in Google's shapes."""
    return ErrorReply(status, FAULT_MESSAGES.get(status, message)).response()


@dataclass
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, str]
    api_key: str | None
    headers: dict[str, str]
    body: Any = None


@dataclass
class GeminiSandbox:
    api_key: str = SANDBOX_API_KEY
    models: Sequence[Mapping[str, Any]] = DEFAULT_MODELS
    requests_per_minute: int = 10
    max_page_size: int = MAX_PAGE_SIZE
    blocked_terms: Collection[str] = ("forbidden-topic",)
    clock: Callable[[], float] = time.monotonic
    faults: Faults = field(default_factory=Faults)
    requests: list[ReceivedRequest] = field(default_factory=list)
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict, init=False)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)
    app: ASGIApp = field(init=False, repr=False)

    def __post_init__(self) -> None:
        api = Starlette(
            routes=[
                Route(
                    "/v1beta/models/{model}:generateContent",
                    self.generate_content,
                    methods=["POST"],
                ),
                Route("/v1beta/models", self.list_models, methods=["GET"]),
            ],
            exception_handlers={404: _not_found, 405: _not_found},
        )
        self.app = FaultInjector(api, self.faults, render=render_error)

    async def generate_content(self, request: Request) -> Response:
        try:
            body = (await self._admit(request)).body
            model = self._generating_model(request.path_params["model"])
            if not isinstance(body, dict):
                raise ErrorReply(400, "Invalid JSON payload received. Unexpected token.")
            _validate_request(body)
            self._spend_quota(model)
        except ErrorReply as error:
            return error.response()
        return JSONResponse(self._answer(model, body))

    async def list_models(self, request: Request) -> Response:
        try:
            await self._admit(request)
            start, size = self._page(request.query_params)
        except ErrorReply as error:
            return error.response()
        page = [dict(model) for model in self.models[start : start + size]]
        listing: dict[str, Any] = {"models": page}
        if start + size < len(self.models):
            listing["nextPageToken"] = _page_token(start + size)
        return JSONResponse(listing)

    async def _admit(self, request: Request) -> ReceivedRequest:
        """Record the request, then check its key as Google does, header or `key` parameter."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        received = ReceivedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            api_key=key,
            headers=dict(request.headers),
            body=body,
        )
        self.requests.append(received)
        if not key:
            raise ErrorReply(403, UNREGISTERED_CALLER)
        if key != self.api_key:
            raise ErrorReply(
                400,
                INVALID_KEY,
                details=(
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": INVALID_KEY,
                    },
                ),
            )
        return received

    def _generating_model(self, model_id: str) -> str:
        for model in self.models:
            if model["name"] == f"models/{model_id}":
                if "generateContent" in model["supportedGenerationMethods"]:
                    return model_id
                break
        raise ErrorReply(
            404,
            f"models/{model_id} is not found for API version v1beta, or is not supported for "
            "generateContent. Call ListModels to see the list of available models and their "
            "supported methods.",
        )

    def _page(self, params: Mapping[str, str]) -> tuple[int, int]:
        try:
            size = int(params.get("pageSize", DEFAULT_PAGE_SIZE)) or DEFAULT_PAGE_SIZE
            start = _page_offset(params.get("pageToken"))
        except ValueError:
            raise ErrorReply(400, INVALID_ARGUMENT) from None
        if size < 0 or start > len(self.models):
            raise ErrorReply(400, INVALID_ARGUMENT)
        return start, min(size, self.max_page_size, MAX_PAGE_SIZE)

    def _spend_quota(self, model: str) -> None:
        """One request of the model's per-minute quota, or Google's 429 with the wait."""
        now = self.clock()
        start, used = self._windows.get(model, (now, 0))
        if now - start >= WINDOW_SECONDS:
            start, used = now, 0
        if used >= self.requests_per_minute:
            wait = start + WINDOW_SECONDS - now
            raise ErrorReply(
                429,
                _quota_message(model, self.requests_per_minute, wait),
                details=_quota_details(model, self.requests_per_minute, wait),
            )
        self._windows[model] = (start, used + 1)

    def _answer(self, model: str, body: Mapping[str, Any]) -> dict[str, Any]:
        contents: list[Mapping[str, Any]] = body["contents"]
        system = body.get("systemInstruction") or body.get("system_instruction") or {}
        generation = body.get("generationConfig") or body.get("generation_config") or {}
        prompt_tokens = sum(len(_text(content).split()) for content in [system, *contents])
        number = next(self._ids)
        answer: dict[str, Any] = {"modelVersion": model, "responseId": f"sandbox{number:06d}"}
        prompt = " ".join(_text(content) for content in [system, *contents])
        if any(term in prompt for term in self.blocked_terms):
            usage = {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
            feedback = {"blockReason": "PROHIBITED_CONTENT"}
            return {"promptFeedback": feedback, "usageMetadata": usage, **answer}
        asked = next((_text(c) for c in reversed(contents) if c.get("role") != "model"), "")
        limit = generation.get("maxOutputTokens") or generation.get("max_output_tokens")
        reply, reply_tokens, cut = limit_words(
            sandbox_reply(asked), limit if isinstance(limit, int) else None
        )
        finish_reason = "MAX_TOKENS" if cut else "STOP"
        candidate = {
            "content": {"parts": [{"text": reply}], "role": "model"},
            "finishReason": finish_reason,
            "index": 0,
        }
        counts: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": reply_tokens,
            "totalTokenCount": prompt_tokens + reply_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
        }
        return {"candidates": [candidate], "usageMetadata": counts, **answer}


def create_sandbox(
    *,
    api_key: str = SANDBOX_API_KEY,
    models: Sequence[Mapping[str, Any]] = DEFAULT_MODELS,
    requests_per_minute: int = 10,
    max_page_size: int = MAX_PAGE_SIZE,
    blocked_terms: Collection[str] = ("forbidden-topic",),
    clock: Callable[[], float] = time.monotonic,
) -> GeminiSandbox:
    return GeminiSandbox(
        api_key=api_key,
        models=tuple(models),
        requests_per_minute=requests_per_minute,
        max_page_size=max_page_size,
        blocked_terms=tuple(blocked_terms),
        clock=clock,
    )


def _validate_request(body: Mapping[str, Any]) -> None:
    """The checks Google makes that a client can trip: unknown fields, turns and roles."""
    for name in body:
        if name not in REQUEST_FIELDS:
            raise _unknown_field(name)
    generation = body.get("generationConfig") or body.get("generation_config") or {}
    for name in generation:
        if name not in GENERATION_FIELDS:
            raise _unknown_field(name, at="generation_config")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ErrorReply(400, "* GenerateContentRequest.contents: contents is not specified\n")
    for index, content in enumerate(contents):
        if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
            raise ErrorReply(400, "Please use a valid role: user, model.")
        if not content.get("parts"):
            raise ErrorReply(
                400,
                f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be "
                "empty.\n",
            )


def _unknown_field(name: str, *, at: str | None = None) -> ErrorReply:
    where = f" at '{at}'" if at else ""
    message = f'Invalid JSON payload received. Unknown name "{name}"{where}: Cannot find field.'
    violation = {"description": message, **({"field": at} if at else {})}
    return ErrorReply(
        400,
        message,
        details=(
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [violation]},
        ),
    )


def _quota_message(model: str, limit: int, wait: float) -> str:
    return (
        "You exceeded your current quota, please check your plan and billing details. For more "
        f"information on this error, head to: {RATE_LIMITS_URL}. To monitor your current usage, "
        "head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: "
        "generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: "
        f"{limit}, model: {model}\nPlease retry in {wait:.2f}s."
    )


def _quota_details(model: str, limit: int, wait: float) -> list[dict[str, Any]]:
    return [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
                {
                    "quotaMetric": "generativelanguage.googleapis.com/"
                    "generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": str(limit),
                }
            ],
        },
        {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [
                {"description": "Learn more about Gemini API quotas", "url": RATE_LIMITS_URL}
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{math.ceil(wait)}s"},
    ]


def _page_token(offset: int) -> str:
    return f"sandbox-page-{offset}"


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.startswith("sandbox-page-"):
        raise ValueError(token)
    return int(token.removeprefix("sandbox-page-"))


def _text(content: Any) -> str:
    """The text parts of a `Content` object, joined."""
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts") or []
    return " ".join(
        str(part.get("text", "")) for part in parts if isinstance(part, dict) and "text" in part
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return ErrorReply(status, "Method not found.", status="NOT_FOUND").response()
