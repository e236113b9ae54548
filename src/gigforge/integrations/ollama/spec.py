"""Ollama as declared once: the local server's native HTTP API, with no credentials.

Ollama listens on http://127.0.0.1:11434 unless `OLLAMA_HOST` says otherwise; a connection to
another machine sets its base URL. That default address is on the SSRF guard's default
allow-list; an Ollama elsewhere on a private network (or on another local port) must be added
to GIGFORGE_ALLOWED_PRIVATE_HOSTS by the admin, or the connection is refused (see `kit.ssrf`).
The server has no rate limits of its own (it queues requests and answers 503 when its queue,
`OLLAMA_MAX_QUEUE`, is full) and no authentication: whoever can reach the port can use it.
Runs cost nothing but the machine's time.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)
from gigforge.integrations.framework.spec import ModelOffer, ModelTask

API_REFERENCE = "https://github.com/ollama/ollama/blob/main/docs/api.md"


class OllamaConfig(BaseModel):
    """What the connect form asks for: nothing is required and nothing is secret. The server's
    address is the connection's base URL."""

    model_config = ConfigDict(title="Ollama connection")

    num_ctx: int | None = Field(
        default=None,
        ge=256,
        title="Context window (tokens)",
        description=(
            "Sent as `options.num_ctx` on every chat. Leave empty for the server's default, "
            "which is as small as 4096 tokens on machines with little GPU memory and silently "
            "cuts longer prompts."
        ),
    )


SPEC = IntegrationSpec(
    slug="ollama",
    title="Ollama",
    description="Chat with open models (Llama, Qwen, Mistral, Gemma) on a local Ollama server.",
    capabilities=frozenset({Capability.llm}),
    auth_modes=(AuthMode.none,),
    base_url="http://127.0.0.1:11434",
    docs_url=API_REFERENCE,
    terms=TermsOfUse(
        url="https://github.com/ollama/ollama/blob/main/LICENSE",
        summary=(
            "Ollama is MIT-licensed software that runs models on the user's own machine, so "
            "prompts and answers stay there. Each model comes under its own license (the Llama "
            "Community License, the Gemma Terms of Use, Apache 2.0, ...), shown by `ollama show "
            "--license <model>`. Models tagged `cloud` run on ollama.com instead and send "
            "prompts there."
        ),
        allows=(
            "Unlimited automated calls to a server the user runs",
            "Commercial use of output where the model's own license allows it",
        ),
        forbids=("Uses the pulled model's license or acceptable-use policy forbids",),
    ),
    config_model=OllamaConfig,
    pagination=Pagination.none,
    test_call="GET /api/tags: lists the models pulled on the server",
    # Runs on the user's machine: free, and prompts stay there. Only the model Gigforge's docs
    # tell users to pull is offered; it is rated for analysis and summaries (and the research
    # agent's source summaries), not for drafting.
    models=(
        ModelOffer(
            name="llama3.1:8b",
            input_price_micro_usd=0,
            output_price_micro_usd=0,
            context_window=131_072,
            quality=0.6,
            latency_ms=6_000,
            tasks=frozenset({ModelTask.analysis, ModelTask.summary, ModelTask.research}),
            leaves_machine=False,
        ),
    ),
)
