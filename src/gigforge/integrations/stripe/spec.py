"""Stripe's manifest: secret-key auth, form-encoded v1 API, cursor paging, and its limits.

Rate limits (https://docs.stripe.com/rate-limits): the global limiter allows 100 requests per
second in live mode and 25 in a sandbox (test mode), and most individual endpoints allow 25 per
second on their own. One budget of 25/second keeps a connection under every one of those limits
whichever mode its key belongs to. Stripe sends no remaining/reset headers and documents no
`Retry-After` on 429; it recommends exponential backoff, which the policy layer falls back to.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    RateLimitHeaders,
    TermsOfUse,
)

STRIPE_API_VERSION = "2025-12-15.clover"
"""Sent as `Stripe-Version` on every call so a change to the account's default version in the
Dashboard never changes the shapes this connector reads (https://docs.stripe.com/api/versioning)."""

SECRET_KEY_PREFIXES = ("sk_live_", "sk_test_", "rk_live_", "rk_test_")
LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


class StripeConfig(BaseModel):
    """What the connect form asks for. Both secrets come from the Stripe Dashboard."""

    model_config = ConfigDict(frozen=True, title="Stripe")

    secret_key: SecretStr = Field(
        description=(
            "Secret key (sk_live_... or sk_test_...) or a restricted key (rk_...) with write "
            "access to Checkout Sessions, Customers, Invoices, Prices, Subscriptions, Refunds, "
            "Connect accounts, Transfers and Payouts and read access to Balance, from "
            "Developers > API keys"
        ),
        json_schema_extra={"writeOnly": True},
    )
    webhook_secret: SecretStr = Field(
        description="Signing secret (whsec_...) of the webhook endpoint that points at Gigforge",
        json_schema_extra={"writeOnly": True},
    )
    api_version: str = Field(
        default=STRIPE_API_VERSION,
        pattern=r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$",
        description="Stripe API version sent as Stripe-Version; change only after upgrading",
    )

    @field_validator("secret_key")
    @classmethod
    def _secret_key_kind(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(SECRET_KEY_PREFIXES):
            raise ValueError(
                "expected a secret key (sk_...) or restricted key (rk_...); "
                "publishable keys (pk_...) cannot create payments"
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_kind(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("whsec_"):
            raise ValueError("expected a webhook signing secret (whsec_...)")
        return value

    @property
    def livemode(self) -> bool:
        """Whether the key moves real money; sandbox (test mode) keys never do."""
        return self.secret_key.get_secret_value().startswith(LIVE_KEY_PREFIXES)


SPEC = IntegrationSpec(
    slug="stripe",
    title="Stripe",
    description=(
        "Take client payments through Stripe Checkout and hosted invoices, bill retainers as "
        "subscriptions, refund them, and pay users and collaborators through Stripe Connect "
        "(Express accounts, transfers, bank accounts and payouts); payment events arrive by "
        "signed webhooks."
    ),
    capabilities=frozenset({Capability.payments}),
    auth_modes=(AuthMode.bearer_token,),
    credential_field="secret_key",
    base_url="https://api.stripe.com",
    docs_url="https://docs.stripe.com/api",
    terms=TermsOfUse(
        url="https://stripe.com/legal/ssa",
        summary=(
            "The Stripe Services Agreement lets an account holder automate its own account "
            "through the API with its own keys. Stripe's restricted and prohibited business list "
            "(https://stripe.com/legal/restricted-businesses) limits what may be sold, and "
            "Stripe asks integrations to treat its rate limits as maximums. Gigforge creates "
            "payments, invoices, subscriptions, refunds, transfers and payouts only on the "
            "user's own Stripe account and on the Express accounts it connected as a platform; "
            "each connected account is onboarded by Stripe's own hosted flow."
        ),
        allows=(
            "creating Checkout Sessions, customers, invoices, subscriptions and refunds on the "
            "user's own account",
            "creating Connect Express accounts with Stripe-hosted onboarding, transfers to them, "
            "their bank accounts and payouts from their balances",
            "reading the account's (and its connected accounts') balance history and events",
            "receiving signed webhook events for the user's own endpoint",
        ),
        forbids=(
            "processing payments for another business or on another person's account",
            "selling prohibited or unapproved restricted products and services",
            "load that exceeds the documented rate limits",
            "storing raw card numbers (Checkout collects card details on Stripe's pages)",
        ),
    ),
    config_model=StripeConfig,
    rate_limits=("25/second",),
    # Stripe says when a failed request may be retried (a 409 lock_timeout: yes; a request it
    # already processed: no), and its own libraries obey it over the status code.
    rate_limit_headers=RateLimitHeaders(should_retry="Stripe-Should-Retry"),
    pagination=Pagination.cursor,
    idempotency_header="Idempotency-Key",
    test_call="GET /v1/balance: the cheapest authenticated read; it also tells live from test",
)
