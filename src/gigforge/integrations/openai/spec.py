"""OpenAI as declared once: the Chat Completions API behind a bearer API key.

Rate limits are set per organization and usage tier, per model, in requests and tokens per
minute (https://developers.openai.com/api/docs/guides/rate-limits), so no single figure is
right for every account. The spec declares 500 requests a minute, the lowest paid tier's
request limit for the common chat models, as a ceiling that never outruns a new account; the
`x-ratelimit-remaining-requests` / `x-ratelimit-reset-requests` headers on every answer do the
real pacing, and the reset arrives as a duration such as `6m0s` or `120ms`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    RateLimitHeaders,
    TermsOfUse,
)
from gigforge.integrations.framework.spec import ModelOffer

API_REFERENCE = "https://platform.openai.com/docs/api-reference/chat/create"

TokenLimitParameter = Literal["max_completion_tokens", "max_tokens"]


class OpenAIConfig(BaseModel):
    """What the connect form asks for. Only the API key is secret."""

    model_config = ConfigDict(title="OpenAI connection")

    api_key: SecretStr = Field(
        title="API key",
        description="A project or user API key from https://platform.openai.com/api-keys",
        json_schema_extra={"writeOnly": True},
    )
    organization: str | None = Field(
        default=None,
        title="Organization ID",
        description="Sent as `OpenAI-Organization` when the key belongs to several organizations",
        pattern=r"^org-[A-Za-z0-9]+$",
    )
    project: str | None = Field(
        default=None,
        title="Project ID",
        description="Sent as `OpenAI-Project` to bill usage to one project",
        pattern=r"^proj_[A-Za-z0-9]+$",
    )
    base_url: str | None = Field(
        default=None,
        title="Base URL",
        description=(
            "Leave empty for https://api.openai.com/v1. Set it for an OpenAI-compatible server "
            "(Azure OpenAI's `https://<resource>.openai.azure.com/openai/v1`, vLLM, a gateway); "
            "the connection opens its client with `runtime.client(SPEC, base_url=...)`."
        ),
        pattern=r"^https?://",
    )
    token_limit_parameter: TokenLimitParameter = Field(
        default="max_completion_tokens",
        title="Output limit parameter",
        description=(
            "OpenAI takes `max_completion_tokens`; `max_tokens` is deprecated there and refused "
            "by reasoning models. Choose `max_tokens` only for a compatible server that predates "
            "the new name."
        ),
    )


SPEC = IntegrationSpec(
    slug="openai",
    title="OpenAI",
    description="Chat completions from OpenAI's models (GPT-4.1, GPT-4o, GPT-5, o-series).",
    capabilities=frozenset({Capability.llm}),
    auth_modes=(AuthMode.bearer_token,),
    base_url="https://api.openai.com/v1",
    docs_url=API_REFERENCE,
    terms=TermsOfUse(
        url="https://openai.com/policies/usage-policies/",
        summary=(
            "API use falls under OpenAI's Services Agreement and Usage Policies. Data sent to "
            "the API is not used to train OpenAI models unless the organization opts in; "
            "prompts and answers may stay in abuse-monitoring logs for up to 30 days "
            "(https://developers.openai.com/api/docs/guides/your-data)."
        ),
        allows=(
            "Calling the API with the organization's own key from a server-side application",
            "Drafting proposals, messages and task output that a person reviews before use",
            "Automated calls within the organization's rate limits and usage tier",
        ),
        forbids=(
            "Presenting output as human-written when it is not",
            "Using output to develop models that compete with OpenAI",
            "Circumventing rate limits, usage limits or safety mitigations",
            "Buying, selling or sharing API keys, or exposing them in client-side code",
            "Uses the Usage Policies prohibit, such as deception, spam or harassment",
        ),
    ),
    config_model=OpenAIConfig,
    credential_field="api_key",
    rate_limits=("500/minute",),
    rate_limit_headers=RateLimitHeaders(
        retry_after="Retry-After",
        remaining="x-ratelimit-remaining-requests",
        reset="x-ratelimit-reset-requests",
        reset_kind="duration",
    ),
    pagination=Pagination.none,
    test_call="GET /v1/models: lists the models the key can use",
    # Published list prices (https://openai.com/api/pricing/), checked 2026-11-22; quality and
    # latency are Gigforge's own rough ratings for drafting work.
    models=(
        ModelOffer(
            name="gpt-4o-mini",
            input_price_micro_usd=150_000,
            output_price_micro_usd=600_000,
            context_window=128_000,
            quality=0.78,
            latency_ms=1_500,
        ),
        ModelOffer(
            name="gpt-4.1-mini",
            input_price_micro_usd=400_000,
            output_price_micro_usd=1_600_000,
            context_window=1_047_576,
            quality=0.8,
            latency_ms=1_500,
        ),
        ModelOffer(
            name="gpt-4o",
            input_price_micro_usd=2_500_000,
            output_price_micro_usd=10_000_000,
            context_window=128_000,
            quality=0.9,
            latency_ms=2_500,
        ),
    ),
)
