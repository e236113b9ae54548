"""The manifest every vendor declares once: how to reach it, authenticate, pace and page it,
and what its terms allow."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from limits import RateLimitItem, parse
from pydantic import BaseModel, ConfigDict, Field, field_validator

# Mark a config field that names a file or folder on the server:
# `Field(..., json_schema_extra=LOCAL_PATH)`. Connections resolve it inside the server's local
# files folder before validating (gigforge.connections.local_files).
LOCAL_PATH_KEY = "x-local-path"
LOCAL_PATH: dict[str, Any] = {LOCAL_PATH_KEY: True}


class Capability(StrEnum):
    marketplace = "marketplace"
    job_feed = "job_feed"
    llm = "llm"
    payments = "payments"
    email = "email"
    object_store = "object_store"
    crm = "crm"
    project_tool = "project_tool"
    social_channel = "social_channel"
    analytics = "analytics"
    notifier = "notifier"
    exchange_rates = "exchange_rates"


class AuthMode(StrEnum):
    oauth2_authorization_code = "oauth2_authorization_code"
    oauth2_client_credentials = "oauth2_client_credentials"
    api_key_header = "api_key_header"
    api_key_query = "api_key_query"
    bearer_token = "bearer_token"  # noqa: S105 - an auth mode name
    basic = "basic"
    signed_request = "signed_request"
    none = "none"


class Pagination(StrEnum):
    none = "none"
    offset = "offset"
    page = "page"
    cursor = "cursor"
    link_header = "link_header"


class OAuth2Endpoints(BaseModel):
    model_config = ConfigDict(frozen=True)

    authorize_url: str
    token_url: str
    refresh_url: str | None = None
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    client_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    authorize_params: dict[str, str] = Field(
        default_factory=dict, description="Extra query parameters the authorize URL needs"
    )


class RateLimitHeaders(BaseModel):
    """Which response headers carry the provider's pacing hints."""

    model_config = ConfigDict(frozen=True)

    retry_after: str = "Retry-After"
    remaining: str | None = None
    reset: str | None = None
    reset_kind: Literal["seconds", "epoch", "duration", "rfc3339"] = Field(
        default="seconds",
        description="seconds to wait, a Unix time, a duration such as `1m30s` (OpenAI), or an "
        "RFC 3339 time (Anthropic)",
    )
    should_retry: str | None = Field(
        default=None,
        description="The provider's own verdict on retrying a failed request, `true` or "
        "`false` (Stripe-Should-Retry); it overrides the status-based rule either way",
    )


class TermsOfUse(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str
    summary: str
    allows: tuple[str, ...] = ()
    forbids: tuple[str, ...] = ()


class ModelTask(StrEnum):
    """What a language model is asked to do; each task needs its own least quality."""

    proposal = "proposal"
    analysis = "analysis"
    writing = "writing"
    code = "code"
    summary = "summary"
    research = "research"
    translation = "translation"
    data = "data"
    judge = "judge"


PER_MILLION_TOKENS = 10**6


class ModelOffer(BaseModel):
    """One model a vendor serves, as the model router chooses among them.

    Prices are the vendor's published list prices in micro-dollars per million tokens; `None`
    means the price is not known, and an unpriced model is never chosen, since its cost could
    not be held to a budget. `quality` (0 to 1) and `latency_ms` are Gigforge's own rough
    ratings for drafting work; `tasks` are the tasks the model is fit for.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=100)
    input_price_micro_usd: int | None = Field(ge=0, description="per million input tokens")
    output_price_micro_usd: int | None = Field(ge=0, description="per million output tokens")
    context_window: int = Field(gt=0, description="input and output tokens the model takes")
    quality: float = Field(ge=0, le=1)
    latency_ms: int = Field(default=2_000, ge=0)
    tasks: frozenset[ModelTask] = frozenset(ModelTask)
    leaves_machine: bool = Field(
        default=True, description="Prompts go to another machine, so personal data is masked"
    )

    @property
    def priced(self) -> bool:
        return self.input_price_micro_usd is not None and self.output_price_micro_usd is not None

    def estimate(self, prompt_tokens: int, completion_tokens: int) -> int:
        """The cost of a call in micro-dollars; only for a priced model."""
        if self.input_price_micro_usd is None or self.output_price_micro_usd is None:
            raise ValueError(f"{self.name} has no price")
        return (
            prompt_tokens * self.input_price_micro_usd
            + completion_tokens * self.output_price_micro_usd
        ) // PER_MILLION_TOKENS


class IntegrationSpec(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    slug: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,40}$")
    title: str
    description: str
    capabilities: frozenset[Capability]
    auth_modes: tuple[AuthMode, ...]
    base_url: str
    docs_url: str
    terms: TermsOfUse
    config_model: type[BaseModel]
    oauth: OAuth2Endpoints | None = None
    rate_limits: tuple[str, ...] = ()
    rate_limit_headers: RateLimitHeaders = RateLimitHeaders()
    pagination: Pagination = Pagination.none
    idempotency_header: str | None = None
    retry_delay_from_body: Callable[[str], float | None] | None = Field(
        default=None,
        exclude=True,
        description="Reads a 429's wait from its body, for providers that send no Retry-After",
    )
    credential_field: str | None = Field(
        default=None, description="The config field holding the API key or token, if any"
    )
    credential_header: str = "Authorization"
    credential_scheme: str = Field(
        default="Bearer", description="Prefix before the secret in the header; empty for none"
    )
    secrets_in_config: bool = Field(
        default=False,
        description="Hand the connector its secret config fields (for protocols other than "
        "HTTP, such as IMAP, where the policy layer cannot add them to a request)",
    )
    credential_query_param: str | None = Field(
        default=None, description="For api_key_query: the query parameter carrying the key"
    )
    test_call: str | None = Field(
        default=None, description="What `test` calls to prove a connection works"
    )
    models: tuple[ModelOffer, ...] = Field(
        default=(),
        description="The language models an llm integration serves, with their prices; the "
        "model router chooses only among these",
    )

    @field_validator("rate_limits")
    @classmethod
    def _limits_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            parse(item)
        return value

    def rebased(self, base_url: str) -> IntegrationSpec:
        """The same spec pointed at another host (a sandbox, a self-hosted instance): the API
        and OAuth URLs keep their paths and move to `base_url`."""
        base = base_url.rstrip("/")
        updates: dict[str, Any] = {"base_url": base + urlsplit(self.base_url).path.rstrip("/")}
        if self.oauth is not None:
            updates["oauth"] = self.oauth.model_copy(
                update={
                    "authorize_url": base + urlsplit(self.oauth.authorize_url).path,
                    "token_url": base + urlsplit(self.oauth.token_url).path,
                    "refresh_url": (
                        base + urlsplit(self.oauth.refresh_url).path
                        if self.oauth.refresh_url
                        else None
                    ),
                }
            )
        return self.model_copy(update=updates)

    def parsed_limits(self) -> list[RateLimitItem]:
        return [parse(item) for item in self.rate_limits]

    def config_schema(self) -> dict[str, Any]:
        """JSON Schema of the connect form; secret fields are marked `writeOnly`."""
        return self.config_model.model_json_schema()

    def catalog_entry(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "capabilities": sorted(self.capabilities),
            "auth_modes": list(self.auth_modes),
            "base_url": self.base_url,
            "docs_url": self.docs_url,
            "rate_limits": list(self.rate_limits),
            "pagination": self.pagination,
            "idempotency_header": self.idempotency_header,
            "oauth": self.oauth.model_dump() if self.oauth else None,
            "terms": self.terms.model_dump(),
            "config_schema": self.config_schema(),
            "models": [offer.model_dump(mode="json") for offer in self.models],
        }
