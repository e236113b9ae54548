"""Google's Gemini API (the Generative Language API) as declared once: `generateContent` behind
an API key sent in the `x-goog-api-key` header.

Rate limits are set per Google Cloud project (not per key) and per model, in requests and input
tokens per minute and requests per day, and they rise with the project's usage tier
(https://ai.google.dev/gemini-api/docs/rate-limits). Google no longer publishes one fixed table:
each project sees its own figures in AI Studio. The spec declares 10 requests a minute, what the
free tier allowed for Gemini 2.5 Flash, as a ceiling a new key does not outrun. Google sends no
remaining/reset headers; a spent quota answers 429 `RESOURCE_EXHAUSTED` whose body carries a
`google.rpc.RetryInfo` delay, which the connector reports as the error's `retry_after`.
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

API_REFERENCE = "https://ai.google.dev/api/generate-content"


class GeminiConfig(BaseModel):
    """What the connect form asks for: only the API key, which is secret."""

    model_config = ConfigDict(title="Google Gemini connection")

    api_key: SecretStr = Field(
        title="API key",
        description="A Gemini API key from Google AI Studio, https://aistudio.google.com/apikey",
        json_schema_extra={"writeOnly": True},
    )


def _retry_delay(body: str) -> float | None:
    """Google sends no Retry-After: a 429 says how long to wait in its `RetryInfo` detail."""
    from gigforge.integrations.gemini.errors import error_envelope, retry_delay_seconds

    envelope = error_envelope(body)
    return retry_delay_seconds(envelope) if envelope is not None else None


SPEC = IntegrationSpec(
    retry_delay_from_body=_retry_delay,
    slug="gemini",
    title="Google Gemini",
    description="Text generation with Google's Gemini models (2.0, 2.5 and 3 families).",
    capabilities=frozenset({Capability.llm}),
    auth_modes=(AuthMode.api_key_header,),
    base_url="https://generativelanguage.googleapis.com/v1beta",
    docs_url=API_REFERENCE,
    terms=TermsOfUse(
        url="https://ai.google.dev/gemini-api/terms",
        summary=(
            "API use falls under the Google APIs Terms of Service, the Gemini API Additional "
            "Terms of Service and the Generative AI Prohibited Use Policy. On unpaid quota "
            "Google uses prompts and answers to improve its products and human reviewers may "
            "read them; on paid quota it does not (outside the EEA, Switzerland and the UK, "
            "where the paid-service data terms apply to all use)."
        ),
        allows=(
            "Calling the API with the user's own key from a server-side application",
            "Drafting proposals, messages and task output that a person reviews before use",
            "Automated calls within the project's rate limits and quota",
        ),
        forbids=(
            "Use by or for anyone under 18",
            "Serving users in the EEA, Switzerland or the UK on unpaid (free-tier) quota",
            "Sending sensitive, confidential or personal data on unpaid quota",
            "Using the Services to develop models that compete with Gemini",
            "Bypassing safety filters or using content the Prohibited Use Policy forbids",
        ),
    ),
    config_model=GeminiConfig,
    credential_field="api_key",
    credential_header="x-goog-api-key",
    credential_scheme="",
    rate_limits=("10/minute",),
    rate_limit_headers=RateLimitHeaders(retry_after="Retry-After"),
    pagination=Pagination.cursor,
    test_call="GET /v1beta/models: lists the models the key can use",
    # Published list prices (https://ai.google.dev/gemini-api/docs/pricing, paid tier, prompts
    # up to 200K tokens), checked 2026-11-22; quality and latency are Gigforge's own ratings.
    models=(
        ModelOffer(
            name="gemini-2.5-flash",
            input_price_micro_usd=300_000,
            output_price_micro_usd=2_500_000,
            context_window=1_048_576,
            quality=0.8,
            latency_ms=1_500,
        ),
    ),
)
