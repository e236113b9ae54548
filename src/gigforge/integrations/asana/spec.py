"""Asana as Gigforge sees it: a JSON API under `https://app.asana.com/api/1.0` whose answers
are wrapped in `{"data": ...}`, reached with a personal access token or an OAuth 2.0 token,
both sent as `Authorization: Bearer` (https://developers.asana.com/docs/authentication).

Rate limits (https://developers.asana.com/docs/rate-limits): Asana counts requests per minute
per token, 150 on free domains and 1,500 on paid ones, and answers 429 with `Retry-After` (in
seconds) once a window is spent; it also caps concurrent requests and charges heavy searches a
cost. It sends no remaining/reset headers. We budget the free figure, 150 a minute: a sync
moves a handful of jobs, and the lower ceiling is safe on every plan. The policy layer waits
the `Retry-After` of any 429 it still meets.

OAuth: Asana supports PKCE (`code_challenge`, S256) and `client_secret_post` at its token
endpoint; with no `scope` the app gets the permissions it was registered with. Custom external
data (the `external` field on tasks, which this connector uses as its idempotency reference) is
documented as app-specific and "OAuth required"; see `connector.py` for what that means for a
personal access token.
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

SITE_URL = "https://app.asana.com"
API_PATH = "/api/1.0"
DOCS_URL = "https://developers.asana.com/docs"


class AsanaConfig(BaseModel):
    """The connect form: a personal access token, unless the connection is made through OAuth
    (then nothing is asked), and the team new projects belong to in an organization."""

    model_config = ConfigDict(title="Asana connection", frozen=True)

    personal_access_token: SecretStr | None = Field(
        default=None,
        description=(
            "Personal access token from Asana's developer console "
            "(https://app.asana.com/0/my-apps); leave empty when connecting through OAuth"
        ),
        json_schema_extra={"writeOnly": True},
    )
    team_gid: str | None = Field(
        default=None,
        pattern=r"^\d{1,32}$",
        description=(
            "Team that new projects are shared with. Asana requires one when the workspace "
            "is an organization; leave empty for a personal workspace"
        ),
    )


SPEC = IntegrationSpec(
    slug="asana",
    title="Asana",
    description=(
        "Keeps your Gigforge jobs in Asana: one project per job and one task per job task, "
        "with sections as statuses, and reads back what people change there (by polling or "
        "by Asana's webhooks)."
    ),
    capabilities=frozenset({Capability.project_tool}),
    auth_modes=(AuthMode.bearer_token, AuthMode.oauth2_authorization_code),
    credential_field="personal_access_token",
    base_url=f"{SITE_URL}{API_PATH}",
    docs_url=DOCS_URL,
    oauth=OAuth2Endpoints(
        authorize_url=f"{SITE_URL}/-/oauth_authorize",
        token_url=f"{SITE_URL}/-/oauth_token",
        pkce=True,
        client_auth="client_secret_post",
    ),
    rate_limits=("150/minute",),
    rate_limit_headers=RateLimitHeaders(retry_after="Retry-After"),
    pagination=Pagination.cursor,
    idempotency_header=None,
    test_call="GET /users/me: the connected user's gid, name and workspaces",
    terms=TermsOfUse(
        url="https://asana.com/terms#api-terms",
        summary=(
            "Asana's API Terms govern every use of the API: an app acts only for users who "
            "authorized it (OAuth) or for the token owner (a personal access token), keeps "
            "within the rate limits, keeps tokens confidential and does not misrepresent "
            "itself as Asana. Gigforge writes only the projects and tasks of jobs the user "
            "syncs, reads back only those projects, and keeps tokens encrypted in its vault."
        ),
        allows=(
            "Creating and updating projects and tasks in workspaces the user chose",
            "Reading the user's workspaces, the synced projects' sections and tasks",
            "Subscribing to webhooks on the synced projects",
            "Storing Gigforge's own reference in a task's custom external data",
        ),
        forbids=(
            "Exceeding or working around Asana's rate limits",
            "Using the API for users who did not connect their Asana account",
            "Sharing or exposing access tokens",
            "Implying Asana endorses or operates Gigforge",
        ),
    ),
    config_model=AsanaConfig,
)
