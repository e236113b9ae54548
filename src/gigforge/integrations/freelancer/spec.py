"""Freelancer.com as Gigforge sees it: OAuth 2.0 on the accounts host, a JSON API under
`https://www.freelancer.com/api` whose token travels in the `Freelancer-OAuth-V1` header.

Rate limits: Freelancer limits each endpoint separately and does not publish the numbers
(https://developers.freelancer.com/docs/api-overview/rate-limiting). Responses carry
`RateLimit-Limit` and `RateLimit-Remaining`, and an exhausted window answers 429. The docs'
example header shows 50 calls a minute and 1000 an hour; we budget exactly that, as a
conservative ceiling we choose, not a figure Freelancer promises for any endpoint.

Scopes: the `scope` parameter carries `basic`; bidding and accepting awards also need the
advanced scope `fln:project_manage` (id 2), and reading and sending messages `fln:messaging`
(id 5), which Freelancer's authorize endpoint takes by numeric id in a separate
`advanced_scopes` parameter (https://developers.freelancer.com/docs/authentication/advanced-scopes).
Freelancer does not document PKCE, so the flow does not use it.
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

FREELANCER_HEADER = "Freelancer-OAuth-V1"
SITE_URL = "https://www.freelancer.com"
BIDDING_SCOPE = "fln:project_manage"
MESSAGING_SCOPE = "fln:messaging"


class FreelancerConfig(BaseModel):
    """What the user enters to connect: their registered OAuth client and bid defaults."""

    model_config = ConfigDict(title="Freelancer.com connection", frozen=True)

    client_id: str = Field(
        min_length=1,
        description="Client ID of your app at https://accounts.freelancer.com/settings/develop",
    )
    client_secret: SecretStr = Field(
        min_length=1,
        description="Client secret of that app",
        json_schema_extra={"writeOnly": True},
    )
    milestone_percentage: int = Field(
        default=100,
        ge=0,
        le=100,
        description="Share of the bid amount requested as the first milestone, in percent",
    )


SPEC = IntegrationSpec(
    slug="freelancer",
    title="Freelancer.com",
    description=(
        "Finds active Freelancer.com projects, places the bids you approve, accepts the awards "
        "you confirm and carries your messages with clients, through Freelancer's official API."
    ),
    capabilities=frozenset({Capability.marketplace}),
    auth_modes=(AuthMode.oauth2_authorization_code,),
    base_url=f"{SITE_URL}/api",
    docs_url="https://developers.freelancer.com/docs",
    oauth=OAuth2Endpoints(
        authorize_url="https://accounts.freelancer.com/oauth/authorize",
        token_url="https://accounts.freelancer.com/oauth/token",  # noqa: S106 - a URL
        scopes=("basic",),
        pkce=False,
        client_auth="client_secret_post",
        # Advanced scope 2 (fln:project_manage) lets a connection place bids and accept
        # awards; 5 (fln:messaging) lets it read threads and send the messages you approve.
        authorize_params={"advanced_scopes": "2 5"},
    ),
    credential_header="Freelancer-OAuth-V1",
    credential_scheme="",
    rate_limits=("50/minute", "1000/hour"),
    rate_limit_headers=RateLimitHeaders(remaining="RateLimit-Remaining"),
    pagination=Pagination.offset,
    idempotency_header=None,
    test_call="GET /users/0.1/self/: the connected account's user id and username",
    terms=TermsOfUse(
        url="https://www.freelancer.com/about/apiterms",
        summary=(
            "Using the API means accepting Freelancer's API Terms and Conditions together "
            "with its User Agreement and Code of Conduct. An app acting for other users needs "
            "an OAuth client that Freelancer reviews, and Freelancer states that automatic "
            "bidders will not be approved. Gigforge submits a bid only after the user has "
            "approved its text, amount and period, and keeps tokens encrypted in its vault."
        ),
        allows=(
            "Searching active projects for the connected user",
            "Placing a bid the user approved, with the fln:project_manage scope",
            "Reading the connected user's own profile and bids",
            "Accepting an award the user confirmed, with the fln:project_manage scope",
            "Reading the user's message threads and sending messages the user approved, "
            "with the fln:messaging scope",
        ),
        forbids=(
            "Bidding automatically without the user's approval of each bid",
            "Reaching Freelancer.com other than through the documented API",
            "Asking clients in bid text to contact or pay outside Freelancer.com",
        ),
    ),
    config_model=FreelancerConfig,
)
