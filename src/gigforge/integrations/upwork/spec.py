"""Upwork as Gigforge sees it: an OAuth 2.0 GraphQL API for reading marketplace job postings.

Sources:
- GraphQL reference and endpoint: https://www.upwork.com/developer/documentation/graphql/api/docs/index.html
- OAuth 2.0 URLs, as used by Upwork's own client: https://github.com/upwork/python-upwork-oauth2
- Limits: https://support.upwork.com/hc/en-us/articles/115015933428 (10 requests per second per
  IP) and https://developers.upwork.com/api-faq.html (at most 40K requests a day)
- Terms: https://developers.upwork.com/api-tos.html and
  https://support.upwork.com/hc/en-us/articles/43342677368467 (bots and automation)
"""

from __future__ import annotations

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

DOCS_URL = "https://www.upwork.com/developer/documentation/graphql/api/docs/index.html"
GRAPHQL_PATH = "/graphql"
TENANT_HEADER = "X-Upwork-API-TenantId"
JOB_URL = "https://www.upwork.com/jobs/{ciphertext}"
AUTHORIZE_URL = "https://www.upwork.com/ab/account-security/oauth2/authorize"
TOKEN_URL = "https://www.upwork.com/api/v3/oauth2/token"  # noqa: S105 - a URL


class UpworkConfig(BaseModel):
    """The connect form: the user's own API key from the Upwork API Center.

    Upwork grants scopes ("permissions") on the key itself, not in the authorize request, so the
    form has nothing to choose there; the key needs "Common Entities - Read-Only Access" and
    "Read marketplace Job Postings", and read-only access to offers and to messaging for won
    work and client messages.
    """

    model_config = ConfigDict(title="Upwork", extra="forbid")

    client_id: str = Field(
        min_length=1,
        title="Client ID",
        description="The key of an OAuth 2.0 API key approved in the Upwork API Center",
    )
    client_secret: SecretStr = Field(
        min_length=1,
        title="Client secret",
        description="The secret shown next to that key",
        json_schema_extra={"writeOnly": True},
    )
    tenant_id: str | None = Field(
        default=None,
        title="Organization ID",
        description=(
            "Act for this organization (sent as X-Upwork-API-TenantId); leave empty for the "
            "account's default organization"
        ),
    )


SPEC = IntegrationSpec(
    slug="upwork",
    title="Upwork",
    description=(
        "Reads Upwork marketplace job postings, your offers and your message rooms through "
        "Upwork's GraphQL API. Proposals, accepting offers and replies are finished on "
        "upwork.com from a hand-off link."
    ),
    capabilities=frozenset({Capability.marketplace}),
    auth_modes=(AuthMode.oauth2_authorization_code,),
    base_url="https://api.upwork.com",
    docs_url=DOCS_URL,
    terms=TermsOfUse(
        url="https://developers.upwork.com/api-tos.html",
        summary=(
            "Upwork allows automation only through an API key it has reviewed and approved for "
            "a stated use, acting for the account that authorized it. Even with a key, "
            "scraping and proposal or invite spam are banned, API data may be kept for at most "
            "24 hours, and commercial use needs Upwork's prior written permission."
        ),
        allows=(
            "Reading marketplace job postings with an approved API key, for the user who "
            "authorized it",
            "Reading the authorized user's own account details",
            "Reading the authorized user's own offers and message rooms",
            "Caching API responses for up to 24 hours to stay within the rate limits",
        ),
        forbids=(
            "Scraping or crawling upwork.com pages, public or private, instead of the API",
            "Sending proposals or invites in bulk, or any automation outside the key's "
            "approved use",
            "Keeping API data for more than 24 hours",
            "Sharing an API key or its tokens, or using one account's key for other accounts",
            "Commercial use of the API without Upwork's prior written permission",
            "Exceeding the rate limits (10 requests a second per IP, 40K requests a day)",
        ),
    ),
    config_model=UpworkConfig,
    oauth=OAuth2Endpoints(
        authorize_url=AUTHORIZE_URL,
        token_url=TOKEN_URL,
        scopes=(),
        # Upwork does not document PKCE; RFC 6749 section 3.1 has servers ignore parameters
        # they do not know, so sending it costs nothing and guards the code where honoured.
        pkce=True,
        client_auth="client_secret_post",
    ),
    rate_limits=("10/second", "40000/day"),
    rate_limit_headers=RateLimitHeaders(retry_after="Retry-After"),
    pagination=Pagination.cursor,
    test_call="GraphQL `query { user { id nid rid name } }`: the authorizing user",
)
