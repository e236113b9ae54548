"""Chat completions through the official `openai` SDK, riding on the policy layer's client.

The SDK is handed `self.client` as its `http_client`, so every call it makes goes through the
PolicyTransport: the rate budget, the breaker, retries and logging all apply, and the transport's
HeaderCredentials write the real `Authorization: Bearer <key>` at send time over the header the
SDK built. The SDK is therefore constructed with a fixed non-secret placeholder key and never
holds the connection's secret. Its own retries are off (`max_retries=0`): the policy layer
decides what is retried, once.

The SDK is imported when the first connector is built, not with this module: the registry loads
every connector at start-up, and `openai` alone takes seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework import (
    LLM,
    ChatRequest,
    ChatResult,
    IntegrationSpec,
)
from gigforge.integrations.openai.errors import openai_errors
from gigforge.integrations.openai.mapping import to_chat_result, to_message_param, to_model_summary
from gigforge.integrations.openai.spec import SPEC, OpenAIConfig

if TYPE_CHECKING:
    import openai

# Never a credential: the policy layer overwrites the Authorization header it lands in.
SDK_PLACEHOLDER_KEY = "sk-gigforge-credentials-are-added-by-the-policy-layer"


def _completion_timeout() -> openai.Timeout:
    """A completion arrives whole when it is done; long answers from reasoning models take
    minutes, well past the runtime's 30 s default, which still bounds the models listing."""
    import openai

    return openai.Timeout(600.0, connect=10.0)


class OpenAIConnector(LLM):
    """One OpenAI connection: chat completions and a models listing to prove the key works."""

    spec: ClassVar[IntegrationSpec] = SPEC
    config: OpenAIConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, OpenAIConfig):
            raise TypeError(f"OpenAIConnector needs an OpenAIConfig, not {type(config).__name__}")
        super().__init__(client, config)
        import openai

        self.sdk = openai.AsyncOpenAI(
            api_key=SDK_PLACEHOLDER_KEY,
            base_url=str(client.base_url),
            # The SDK accepts an httpx.AsyncClient at run time (see `openai._httpx2`), though
            # its signature names only httpx2's client.
            http_client=cast(Any, client),
            max_retries=0,
        )
        # Assigned after construction because the constructor falls back to OPENAI_ORG_ID and
        # OPENAI_PROJECT_ID from the process environment; a connection uses only its own config.
        self.sdk.organization = config.organization
        self.sdk.project = config.project

    async def chat(self, request: ChatRequest) -> ChatResult:
        import openai

        limit = request.max_tokens if request.max_tokens is not None else openai.omit
        parameter = self.config.token_limit_parameter
        by_completion_tokens = parameter == "max_completion_tokens"
        with openai_errors():
            completion = await self.sdk.chat.completions.create(
                model=request.model,
                messages=[to_message_param(message) for message in request.messages],
                max_completion_tokens=limit if by_completion_tokens else openai.omit,
                max_tokens=openai.omit if by_completion_tokens else limit,
                temperature=(
                    request.temperature if request.temperature is not None else openai.omit
                ),
                timeout=_completion_timeout(),
            )
        return to_chat_result(completion.to_dict(mode="json"), requested_model=request.model)

    async def test(self) -> dict[str, Any]:
        """`GET /v1/models`: cheap, free, and refused with 401 when the key is wrong."""
        with openai_errors():
            page = await self.sdk.models.list()
        return to_model_summary([model.id for model in page.data])
