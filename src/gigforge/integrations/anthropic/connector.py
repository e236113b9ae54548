"""Claude messages through the official `anthropic` SDK, riding on the policy layer's client.

The SDK gets an httpx2 client whose transport re-sends every request through `self.client`
(see `_bridge`), so the rate budget, the breaker, retries and logging all apply, and the
transport's HeaderCredentials write the real `x-api-key` at send time. The SDK is therefore
constructed with a fixed non-secret placeholder key and never holds the connection's secret.
The installed SDK (2.x) sends an `api_key` as `Authorization: Bearer`, so the placeholder is put
in `x-api-key` instead, where the policy layer overwrites it, and `Authorization` is omitted:
nothing but the connection's key reaches Anthropic. Its own retries are off (`max_retries=0`):
the policy layer decides what is retried, once.

The SDK (and httpx2 under it) is imported when the first connector is built, not with this
module: the registry loads every connector at start-up, and `anthropic` alone takes seconds.

The SDK pins API version 2026-10-21, which refuses `temperature`, `top_p` and `top_k` at any
value on every model ("temperature: Extra inputs are not permitted"), and no longer offers them
(https://platform.claude.com/docs/en/api/versioning). A request's `temperature` is therefore not
sent: Claude samples at its own defaults, and the text it returns is still its real answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import httpx
from pydantic import BaseModel

from gigforge.integrations.anthropic.errors import anthropic_errors
from gigforge.integrations.anthropic.mapping import (
    to_chat_result,
    to_model_summary,
    to_system_and_messages,
)
from gigforge.integrations.anthropic.spec import SPEC, AnthropicConfig
from gigforge.integrations.framework import LLM, ChatRequest, ChatResult, IntegrationSpec

if TYPE_CHECKING:
    import httpx2

# Never a credential: the policy layer overwrites the x-api-key header it lands in.
SDK_PLACEHOLDER_KEY = "sk-ant-gigforge-credentials-are-added-by-the-policy-layer"


def _completion_timeout() -> httpx2.Timeout:
    """A message arrives whole when it is done; long answers take minutes, well past the
    runtime's 30 s default, which still bounds the models listing."""
    import httpx2

    return httpx2.Timeout(600.0, connect=10.0)


def _sdk_headers() -> dict[str, str]:
    """`default_headers` accepts `omit` to remove a header; the SDK types the mapping as str."""
    import anthropic

    return cast(
        "dict[str, str]", {"x-api-key": SDK_PLACEHOLDER_KEY, "Authorization": anthropic.omit}
    )


class AnthropicConnector(LLM):
    """One Anthropic connection: Claude messages and a models listing to prove the key works."""

    spec: ClassVar[IntegrationSpec] = SPEC
    config: AnthropicConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, AnthropicConfig):
            raise TypeError(
                f"AnthropicConnector needs an AnthropicConfig, not {type(config).__name__}"
            )
        super().__init__(client, config)
        import anthropic

        from gigforge.integrations.anthropic._bridge import sdk_http_client

        self.sdk = anthropic.AsyncAnthropic(
            api_key=SDK_PLACEHOLDER_KEY,
            base_url=str(client.base_url),
            http_client=sdk_http_client(client),
            max_retries=0,
            default_headers=_sdk_headers(),
        )
        # The constructor merges ANTHROPIC_CUSTOM_HEADERS from the process environment into
        # every request; a connection sends only what its own config says.
        self.sdk._custom_headers = _sdk_headers()

    async def chat(self, request: ChatRequest) -> ChatResult:
        import anthropic

        system, messages = to_system_and_messages(request.messages)
        limit = request.max_tokens or self.config.default_max_tokens
        with anthropic_errors():
            message = await self.sdk.messages.create(
                model=request.model,
                max_tokens=limit,
                system=system if system is not None else anthropic.omit,
                messages=messages,
                timeout=_completion_timeout(),
            )
        return to_chat_result(message.to_dict(mode="json"), requested_model=request.model)

    async def test(self) -> dict[str, Any]:
        """`GET /v1/models`, every page: free, and refused with 401 when the key is wrong."""
        with anthropic_errors():
            models = [model.to_dict(mode="json") async for model in self.sdk.models.list()]
        return to_model_summary(models)
