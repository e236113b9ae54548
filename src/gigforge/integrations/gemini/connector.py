"""Gemini through the official `google-genai` SDK, riding on the policy layer's client.

The SDK is handed `self.client` as its `HttpOptions.httpx_async_client`: google-genai takes an
`httpx.AsyncClient` there and sends every async request with it (read in 3.4). So every call it
makes goes through the PolicyTransport: the rate budget, the breaker, retries and logging all
apply, and the transport's HeaderCredentials write the real `x-goog-api-key` at send time over
the header the SDK built. The SDK is therefore constructed with a fixed non-secret placeholder
key and never holds the connection's secret. Its own retries stay off (no `retry_options`):
the policy layer decides what is retried, once.

Everything that could point the SDK elsewhere is fixed here rather than read from the process
environment: `vertexai=False` (ignoring `GOOGLE_GENAI_USE_VERTEXAI`), the base URL (ignoring
`GOOGLE_GEMINI_BASE_URL`) and the key (ignoring `GOOGLE_API_KEY`/`GEMINI_API_KEY`). The base URL
is the client's own, version included (`.../v1beta`), taken as a collection-scoped base so the SDK
adds no second version segment. The SDK also builds an idle synchronous client when it is
constructed; only `sdk.aio` is ever called, so that client never sends a request.

The SDK is imported when the first connector is built, not with this module: the registry loads
every connector at start-up, and `google.genai` alone takes seconds.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework import (
    LLM,
    ChatRequest,
    ChatResult,
    IntegrationSpec,
    Permanent,
)
from gigforge.integrations.gemini.errors import gemini_errors
from gigforge.integrations.gemini.mapping import (
    to_chat_result,
    to_contents,
    to_model_summary,
    to_system_instruction,
)
from gigforge.integrations.gemini.spec import SPEC, GeminiConfig

if TYPE_CHECKING:
    from google.genai import types

# Never a credential: the policy layer overwrites the x-goog-api-key header it lands in.
SDK_PLACEHOLDER_KEY = "gigforge-credentials-are-added-by-the-policy-layer"

# Milliseconds, as the SDK takes them. Without a timeout the SDK would pass `timeout=None` to
# httpx, which waits forever. A long thinking answer takes minutes; a listing does not.
COMPLETION_TIMEOUT_MS = 600_000
LISTING_TIMEOUT_MS = 30_000
# The API's largest page (https://ai.google.dev/api/models#method:-models.list).
MODELS_PAGE_SIZE = 1000


class GeminiConnector(LLM):
    """One Gemini connection: `generateContent`, and a models listing to prove the key works."""

    spec: ClassVar[IntegrationSpec] = SPEC
    config: GeminiConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, GeminiConfig):
            raise TypeError(f"GeminiConnector needs a GeminiConfig, not {type(config).__name__}")
        super().__init__(client, config)
        from google import genai
        from google.genai import types

        self.sdk = genai.Client(
            api_key=SDK_PLACEHOLDER_KEY,
            vertexai=False,
            http_options=types.HttpOptions(
                base_url=str(client.base_url),
                base_url_resource_scope=types.ResourceScope.COLLECTION,
                httpx_async_client=client,
                timeout=LISTING_TIMEOUT_MS,
                # The SDK puts its own name in front of ours rather than replacing it.
                headers={"user-agent": client.headers.get("user-agent", "")},
            ),
        )

    async def chat(self, request: ChatRequest) -> ChatResult:
        from google.genai import types

        contents = to_contents(request.messages)
        config = types.GenerateContentConfig(
            system_instruction=to_system_instruction(request.messages),
            max_output_tokens=request.max_tokens,
            temperature=request.temperature,
            # The raw body is what the mapping reads; a continuation would be a hidden call.
            should_return_http_response=True,
            automatic_continuation=False,
            http_options=types.HttpOptions(timeout=COMPLETION_TIMEOUT_MS),
        )
        with gemini_errors():
            response = await self.sdk.aio.models.generate_content(
                model=request.model, contents=contents, config=config
            )
        return to_chat_result(_body(response), requested_model=request.model)

    async def test(self) -> dict[str, Any]:
        """`GET /v1beta/models`, every page: free, and refused when the key is wrong."""
        from google.genai import types

        with gemini_errors():
            pager = await self.sdk.aio.models.list(
                config=types.ListModelsConfig(page_size=MODELS_PAGE_SIZE)
            )
            models = [(model.name or "", model.supported_actions or []) async for model in pager]
        return to_model_summary(models)


def _body(response: types.GenerateContentResponse) -> dict[str, Any]:
    raw = response.sdk_http_response.body if response.sdk_http_response else None
    try:
        body = json.loads(raw or "")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Permanent("Gemini answered with a body that is not JSON", integration=SPEC.slug)
    return body
