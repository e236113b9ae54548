"""Jira Cloud as Gigforge sees it: a project tool whose "projects" are epics.

Two ways in, both documented by Atlassian:

- An API token: HTTP Basic `email:token` against the user's site, `https://<site>.atlassian.net`
  (https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/). The site is
  the config's `base_url` (so the connection form asks for it and the SSRF guard checks it
  before anything is saved); a connection created with the site as its own base URL works too.
  The policy layer sends `Authorization: Basic <base64(email:token)>`: the config derives that
  value from the two fields into a hidden secret field, so it lives in the vault and the
  connector never holds it.
- OAuth 2.0 (3LO): authorize at `auth.atlassian.com` with `audience=api.atlassian.com` and
  `offline_access` for a refresh token; the API is then `https://api.atlassian.com/ex/jira/
  {cloudid}`, where the cloud id is the site's entry in `GET /oauth/token/accessible-resources`.
  The connector reads that list once per connection: a single site is used as is, several need
  `cloud_id` set in the connection's config (the error names them). Atlassian's docs show no
  PKCE for 3LO, so the flow does not send it.

Rate limits: Atlassian publishes no per-connection request count. OAuth apps draw on an hourly
points quota, and every client (API tokens included) meets per-second burst limits per tenant
and endpoint plus a per-issue write limit (https://developer.atlassian.com/cloud/jira/platform/
rate-limiting/). A 429 carries `Retry-After` in seconds and `X-RateLimit-Reset` as an ISO 8601
time; responses carry `X-RateLimit-Remaining`. Our own ceiling of 10 calls a second and 3000 an
hour per connection is a conservative choice of ours, not a figure Atlassian promises.
"""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.json_schema import SkipJsonSchema

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    OAuth2Endpoints,
    Pagination,
    RateLimitHeaders,
    TermsOfUse,
)

API_GATEWAY = "https://api.atlassian.com"
PROPERTY_KEY = "gigforge"
SCOPES = (
    "read:jira-work",
    "write:jira-work",
    "read:jira-user",
    "manage:jira-webhook",
    "offline_access",
)


class JiraConfig(BaseModel):
    """The connect form. API-token connections fill the site, email and token; OAuth
    connections start empty and may need `cloud_id` when the user can reach several sites."""

    model_config = ConfigDict(title="Jira Cloud connection", frozen=True)

    base_url: str | None = Field(
        default=None,
        title="Site URL",
        description="Your Jira site, e.g. https://your-team.atlassian.net (API-token connections)",
        pattern=r"^https?://[^/\s]+/?$",
    )
    email: str | None = Field(
        default=None,
        description="The Atlassian account email the API token belongs to",
        max_length=320,
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="An API token from https://id.atlassian.com/manage-profile/security/api-tokens",
        json_schema_extra={"writeOnly": True},
    )
    # `Basic base64(email:token)`, derived from the two fields above; the policy layer sends it.
    basic_credentials: SkipJsonSchema[SecretStr | None] = None
    cloud_id: str | None = Field(
        default=None,
        title="Cloud ID",
        description="OAuth connections: the site to use when your account reaches several",
        pattern=r"^[A-Za-z0-9-]{1,64}$",
    )
    epic_issue_type: str = Field(
        default="Epic", min_length=1, description="The issue type of a Gigforge project"
    )
    task_issue_type: str = Field(
        default="Task", min_length=1, description="The issue type of a Gigforge task"
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_basic_credentials(cls, data: Any) -> Any:
        """Only ever derived: a value sent for the hidden field is dropped."""
        if not isinstance(data, dict):
            return data
        values = {k: v for k, v in data.items() if k != "basic_credentials"}
        email, token = values.get("email"), values.get("api_token")
        if isinstance(token, SecretStr):
            token = token.get_secret_value()
        if token and not email:
            raise ValueError("an API token needs the email of the account it belongs to")
        if email and token:
            pair = f"{email}:{token}".encode()
            values["basic_credentials"] = SecretStr(base64.b64encode(pair).decode())
        return values

    @property
    def uses_api_token(self) -> bool:
        return bool(self.email)


SPEC = IntegrationSpec(
    slug="jira",
    title="Jira Cloud",
    description=(
        "Puts each Gigforge job in Jira as an epic of the project you pick, with its tasks as "
        "the epic's issues, and follows the changes your team makes there."
    ),
    capabilities=frozenset({Capability.project_tool}),
    # API token first: `POST /connections` creates those; OAuth starts at /authorize.
    auth_modes=(AuthMode.basic, AuthMode.oauth2_authorization_code),
    base_url=API_GATEWAY,
    docs_url="https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/",
    oauth=OAuth2Endpoints(
        authorize_url="https://auth.atlassian.com/authorize",
        token_url="https://auth.atlassian.com/oauth/token",  # noqa: S106 - a URL
        scopes=SCOPES,
        pkce=False,
        client_auth="client_secret_post",
        authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
    ),
    credential_field="basic_credentials",
    credential_header="Authorization",
    credential_scheme="Basic",
    rate_limits=("10/second", "3000/hour"),
    rate_limit_headers=RateLimitHeaders(
        retry_after="Retry-After",
        remaining="X-RateLimit-Remaining",
        reset="X-RateLimit-Reset",
        reset_kind="rfc3339",
    ),
    pagination=Pagination.cursor,
    idempotency_header=None,
    test_call="GET /rest/api/3/myself: the connected account's id, name and time zone",
    terms=TermsOfUse(
        url="https://developer.atlassian.com/platform/marketplace/atlassian-developer-terms/",
        summary=(
            "Atlassian's Developer Terms govern use of its REST APIs: an app acts only with the "
            "permissions the user granted (OAuth scopes, or the user's own API token), keeps "
            "credentials and customer data secure, respects rate limits and does not "
            "circumvent them. Gigforge writes only the epics and issues of the jobs the user "
            "syncs, and keeps tokens encrypted in its vault."
        ),
        allows=(
            "Reading the user's projects, statuses and issues with the granted scopes",
            "Creating, changing, transitioning and deleting the issues Gigforge syncs",
            "Registering webhooks for an OAuth app's own use",
        ),
        forbids=(
            "Exceeding or working around Atlassian's rate limits",
            "Using data obtained through the APIs beyond what the user authorized",
            "Sharing or exposing users' credentials or tokens",
        ),
    ),
    config_model=JiraConfig,
)
