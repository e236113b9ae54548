"""Chat through a local Ollama server's native API (`POST /api/chat`), with no SDK.

Requests go through `self.client`, the policy layer's client, so a server that is down fails as
`Transient` like any unreachable provider, and a listing is retried while a completion is not.
A completion asks for one whole answer (`stream: false`): the domain wants the finished text,
and a streamed answer would report a failure midway inside a 200.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework import (
    LLM,
    ChatRequest,
    ChatResult,
    IntegrationSpec,
    Permanent,
)
from gigforge.integrations.ollama.errors import ollama_errors
from gigforge.integrations.ollama.mapping import to_chat_body, to_chat_result, to_model_summary
from gigforge.integrations.ollama.spec import SPEC, OllamaConfig

# A local model may first have to load from disk, and a CPU-only machine writes a few tokens a
# second: far past the runtime's 30 s default, which still bounds the models listing.
COMPLETION_TIMEOUT = httpx.Timeout(600.0, connect=10.0)


class OllamaConnector(LLM):
    """One Ollama server: chat completions, and the pulled models to prove it answers."""

    spec: ClassVar[IntegrationSpec] = SPEC
    config: OllamaConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, OllamaConfig):
            raise TypeError(f"OllamaConnector needs an OllamaConfig, not {type(config).__name__}")
        super().__init__(client, config)

    async def chat(self, request: ChatRequest) -> ChatResult:
        body = to_chat_body(request, num_ctx=self.config.num_ctx)
        with ollama_errors(self._server):
            response = await self.client.post("/api/chat", json=body, timeout=COMPLETION_TIMEOUT)
        return to_chat_result(_json(response), requested_model=request.model)

    async def test(self) -> dict[str, Any]:
        """`GET /api/tags`: cheap, and proves the server is up; it loads no model."""
        with ollama_errors(self._server):
            response = await self.client.get("/api/tags")
        return to_model_summary(_json(response))

    @property
    def _server(self) -> str:
        return str(self.client.base_url).rstrip("/")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Permanent(
            f"Ollama answered {response.request.url.path} with a body that is not a JSON object",
            integration=SPEC.slug,
        )
    return body
