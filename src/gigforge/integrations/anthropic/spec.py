"""Anthropic as declared once: the Claude Messages API behind an `x-api-key` header.

API keys go in `x-api-key` (https://platform.claude.com/docs/en/manage-claude/authentication),
with no scheme before the secret. Rate limits are set per organization and usage tier, per model
class, in requests and input/output tokens per minute
(https://platform.claude.com/docs/en/api/rate-limits); Tier 1 allows 50 requests a minute, so the
spec declares that as a ceiling that never outruns a new account. Every answer carries
`anthropic-ratelimit-requests-remaining` and `anthropic-ratelimit-requests-reset`, but the reset
is an RFC 3339 time, which none of the framework's reset kinds (seconds, epoch, duration) reads:
`reset` is left unset, so the policy layer paces on the declared limit and on `retry-after`,
which Anthropic sends on a 429 in seconds.
"""

from __future__ import annotations

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

API_REFERENCE = "https://platform.claude.com/docs/en/api/messages/create"

DEFAULT_MAX_TOKENS = 1024
# The largest output any current Claude model allows (128K tokens); the API refuses more.
MAX_OUTPUT_TOKENS = 128_000


class AnthropicConfig(BaseModel):
    """What the connect form asks for. Only the API key is secret."""

    model_config = ConfigDict(title="Anthropic connection")

    api_key: SecretStr = Field(
        title="API key",
        description="An API key (sk-ant-api...) from https://platform.claude.com/settings/keys",
        json_schema_extra={"writeOnly": True},
    )
    default_max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS,
        ge=1,
        le=MAX_OUTPUT_TOKENS,
        title="Default output limit",
        description=(
            "Anthropic requires `max_tokens` on every message; this is sent when a request "
            "names no limit of its own."
        ),
    )


SPEC = IntegrationSpec(
    slug="anthropic",
    title="Anthropic",
    description="Chat with Anthropic's Claude models (Opus, Sonnet, Haiku) via the Messages API.",
    capabilities=frozenset({Capability.llm}),
    auth_modes=(AuthMode.api_key_header,),
    base_url="https://api.anthropic.com",
    docs_url=API_REFERENCE,
    terms=TermsOfUse(
        url="https://www.anthropic.com/legal/commercial-terms",
        summary=(
            "API use falls under Anthropic's Commercial Terms of Service and Usage Policy "
            "(https://www.anthropic.com/legal/aup). The customer owns inputs and outputs, and "
            "Anthropic does not train models on API content; inputs and outputs are kept for up "
            "to 30 days for safety unless a zero-retention agreement applies."
        ),
        allows=(
            "Calling the API with the organization's own key from a server-side application",
            "Drafting proposals, messages and task output that a person reviews before use",
            "Automated calls within the organization's rate limits and usage tier",
        ),
        forbids=(
            "Using the API or its output to build a competing product or train competing models",
            "Reselling API access or sharing API keys",
            "Circumventing rate limits, spend limits or safety measures",
            "Uses the Usage Policy prohibits, such as deception, spam or impersonation",
        ),
    ),
    config_model=AnthropicConfig,
    credential_field="api_key",
    credential_header="x-api-key",
    credential_scheme="",
    rate_limits=("50/minute",),
    rate_limit_headers=RateLimitHeaders(
        retry_after="retry-after",
        remaining="anthropic-ratelimit-requests-remaining",
    ),
    pagination=Pagination.cursor,
    test_call="GET /v1/models: lists the models the key can use",
    # Published list prices (https://www.anthropic.com/pricing#api), checked 2026-11-22;
    # quality and latency are Gigforge's own rough ratings for drafting work.
    models=(
        ModelOffer(
            name="claude-haiku-4-5",
            input_price_micro_usd=1_000_000,
            output_price_micro_usd=5_000_000,
            context_window=200_000,
            quality=0.82,
            latency_ms=1_500,
        ),
        ModelOffer(
            name="claude-sonnet-4-5",
            input_price_micro_usd=3_000_000,
            output_price_micro_usd=15_000_000,
            context_window=200_000,
            quality=0.93,
            latency_ms=3_000,
        ),
    ),
)
