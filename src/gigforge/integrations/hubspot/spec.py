"""HubSpot as Gigforge sees it: the CRM v3 object API on `https://api.hubapi.com`, reached with
a private app's access token or an OAuth 2.0 access token, both sent as `Authorization: Bearer`.

Rate limits (https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines):
a private app may make 100 requests per 10 seconds and 250,000 a day on Free and Starter
accounts (190 per 10 seconds on Professional and Enterprise); a public app using OAuth may make
110 requests per 10 seconds per installed account. We budget the lowest of these, 100 per 10
seconds and 250,000 a day, so a connection stays inside its limit whatever the account's tier.
The CRM search endpoints have a separate, smaller limit (5 requests a second per account) and
send no rate-limit headers; a search that meets it answers 429 and is retried. Responses carry
`X-HubSpot-RateLimit-Max`, `X-HubSpot-RateLimit-Remaining` and
`X-HubSpot-RateLimit-Interval-Milliseconds`; HubSpot sends no `Retry-After`, so a 429's wait is
read from the `policyName` in its body (`retry_delay`).

Gigforge's own reference and lead attribution live in two custom properties the account must
have (https://developers.hubspot.com/docs/api-reference/crm-properties-v3/guide):
`gigforge_ref` (single-line text) on contacts, companies and deals, and `gigforge_source` on
contacts.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    OAuth2Endpoints,
    Pagination,
    RateLimitHeaders,
    TermsOfUse,
)

API_URL = "https://api.hubapi.com"
REF_PROPERTY = "gigforge_ref"
SOURCE_PROPERTY = "gigforge_source"
SCOPES = (
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
)
# What a 429 asks us to wait, by the limit its body names. The daily limit resets at midnight
# in the account's time zone, which the body does not state: an hour is past what one call
# waits, so the transport hands the wait back to the caller.
POLICY_WAITS = {"SECONDLY": 1.0, "TEN_SECONDLY_ROLLING": 10.0, "DAILY": 3600.0}


class HubSpotConfig(BaseModel):
    """What the connect form asks for. A private app's connection gives its access token; an
    OAuth connection gets its tokens from the flow. Both give the app's client secret, which
    HubSpot signs webhooks with."""

    model_config = ConfigDict(title="HubSpot connection", frozen=True)

    access_token: SecretStr | None = Field(
        default=None,
        min_length=1,
        description=(
            "Access token of your private app (Settings > Integrations > Private Apps), with "
            "the crm.objects.contacts, companies and deals read and write scopes; leave empty "
            "when connecting through OAuth"
        ),
        json_schema_extra={"writeOnly": True},
    )
    client_secret: SecretStr | None = Field(
        default=None,
        min_length=1,
        description=(
            "Client secret of the app whose webhooks point at Gigforge (the app's Auth tab); "
            "needed to verify HubSpot's webhook signatures"
        ),
        json_schema_extra={"writeOnly": True},
    )


def retry_delay(body: str) -> float | None:
    """The wait a 429 body implies: HubSpot names the limit that was hit in `policyName`."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    policy = parsed.get("policyName") if isinstance(parsed, dict) else None
    return POLICY_WAITS.get(str(policy)) if policy else None


SPEC = IntegrationSpec(
    slug="hubspot",
    title="HubSpot",
    description=(
        "Keeps your HubSpot contacts, companies and deals in step with Gigforge's clients and "
        "jobs, through HubSpot's CRM API and its signed webhooks."
    ),
    capabilities=frozenset({Capability.crm}),
    # The private app token first: a connection made with the connect form uses it, the
    # OAuth flow stores its own tokens.
    auth_modes=(AuthMode.bearer_token, AuthMode.oauth2_authorization_code),
    base_url=API_URL,
    docs_url="https://developers.hubspot.com/docs/api-reference/crm-objects-v3/guide",
    oauth=OAuth2Endpoints(
        authorize_url="https://app.hubspot.com/oauth/authorize",
        token_url=f"{API_URL}/oauth/v1/token",
        scopes=SCOPES,
        # HubSpot documents the plain authorization code grant with the client secret in the
        # form; it does not document PKCE.
        pkce=False,
        client_auth="client_secret_post",
    ),
    credential_field="access_token",
    credential_header="Authorization",
    credential_scheme="Bearer",
    # The webhook secret must reach `parse_webhook`; the access token itself is only ever
    # added to requests by the policy layer.
    secrets_in_config=True,
    rate_limits=("100/10 seconds", "250000/day"),
    rate_limit_headers=RateLimitHeaders(remaining="X-HubSpot-RateLimit-Remaining"),
    retry_delay_from_body=retry_delay,
    pagination=Pagination.cursor,
    idempotency_header=None,
    test_call="GET /account-info/v3/details: the account's portal id, currency and time zone",
    terms=TermsOfUse(
        url="https://legal.hubspot.com/hs-developer-terms",
        summary=(
            "HubSpot's Developer Terms and Acceptable Use Policy govern every app: access only "
            "the data of accounts that installed the app (or the account that owns the private "
            "app), with the scopes it needs, within the documented API limits, and keep tokens "
            "and client secrets confidential. Gigforge writes only the records the sync engine "
            "owns, marked with the gigforge_ref property, and keeps tokens in its vault."
        ),
        allows=(
            "Reading and writing contacts, companies and deals of the connected account with "
            "the crm.objects scopes it granted",
            "Receiving the app's webhook subscriptions for those objects",
            "Reading the account's deal pipelines and account details",
        ),
        forbids=(
            "Exceeding the documented rate limits or working around them with several apps",
            "Accessing accounts that did not install the app, or sharing tokens",
            "Reaching HubSpot other than through its documented APIs",
        ),
    ),
    config_model=HubSpotConfig,
)
