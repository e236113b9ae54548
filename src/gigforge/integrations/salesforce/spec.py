"""Salesforce's manifest: OAuth 2.0 web server flow on the org's My Domain, the REST API pinned
to one version, and Salesforce's API request allocation.

Where the API lives. Salesforce answers the token request with the org's `instance_url`, and
every API call must go there. The framework keeps a connection's `base_url` and nothing from
the token response, so a Salesforce connection is made with its org's My Domain URL as its
base URL (`https://<domain>.my.salesforce.com`, see `my_domain_url`). Salesforce documents
the My Domain host for the authorize and token endpoints of the web server flow, and since
enhanced domains (enforced for every org) the `instance_url` it returns is that same host, so
one URL serves the OAuth flow and the API and nothing has to be learned later. The spec's
default host, `login.salesforce.com`, serves OAuth but no org's data, so the connector refuses
it with a message saying to connect with the My Domain URL.

Rate limits (https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm):
an org may make a rolling 24-hour allocation of API requests that depends on its edition and
licences; Developer Edition, the smallest, gets 15,000. We budget 15,000 a day per connection,
which no org's allocation is below. Salesforce sends `Sforce-Limit-Info: api-usage=N/M` on
every answer (read by the connector, since it is not a count the policy layer can parse) and
refuses a call over the allocation with 403 `REQUEST_LIMIT_EXCEEDED`, which the connector
turns into `RateLimited`. There is no per-second limit, and no `Retry-After`.

External ids. Creates are idempotent through an upsert on a custom external-id field the org
must have on Contact, Account and Opportunity (by default `Gigforge_Ref__c`: Text(255),
External ID, Unique). Without it Salesforce answers 404 `NOT_FOUND` ("Provided external ID
field does not exist or is not accessible"), which the connector reports as
`MissingExternalIdField`, saying how to add it.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    OAuth2Endpoints,
    Pagination,
    TermsOfUse,
)

API_VERSION = "v62.0"
API_PATH = f"/services/data/{API_VERSION}"
LOGIN_HOST = "https://login.salesforce.com"
# Hosts that serve OAuth for any org but no org's data.
LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
DEFAULT_EXTERNAL_ID_FIELD = "Gigforge_Ref__c"
LIMIT_INFO_HEADER = "Sforce-Limit-Info"

# https://help.salesforce.com/s/articleView?id=sf.domain_name_format.htm: production
# `<name>.my.salesforce.com`, and the sandbox, Developer Edition, scratch, demo, patch and
# Trailhead variants with their own second-level label.
_MY_DOMAIN = re.compile(
    r"^https://[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?"
    r"(?:\.(?:sandbox|develop|scratch|demo|patch|trailblaze))?\.my\.salesforce\.com/?$"
)
_CUSTOM_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,36}__c$")


def my_domain_url(value: str) -> str:
    """The org's My Domain URL, normalized; ValueError for anything else (a login host, an
    instance host such as `na1.salesforce.com`, http, a path)."""
    url = value.strip().lower()
    if not _MY_DOMAIN.match(url):
        raise ValueError(
            "Use your org's My Domain URL, https://<your-domain>.my.salesforce.com (Setup > "
            "My Domain shows it), not login.salesforce.com or an instance such as "
            "na1.salesforce.com"
        )
    return url.rstrip("/")


class SalesforceConfig(BaseModel):
    """Nothing secret: the OAuth client is the server's (GIGFORGE_OAUTH_CLIENTS) and the tokens
    live in the vault. The org is chosen by the connection's base URL (its My Domain URL)."""

    model_config = ConfigDict(title="Salesforce connection", frozen=True)

    external_id_field: str = Field(
        default=DEFAULT_EXTERNAL_ID_FIELD,
        pattern=_CUSTOM_FIELD.pattern,
        description=(
            "API name of the custom external-id field (Text(255), External ID, Unique) that "
            "Gigforge writes its reference into on Contact, Account and Opportunity"
        ),
    )


SPEC = IntegrationSpec(
    slug="salesforce",
    title="Salesforce",
    description=(
        "Keeps clients, their companies and won work in your Salesforce org as Contacts, "
        "Accounts and Opportunities, through the Salesforce REST API."
    ),
    capabilities=frozenset({Capability.crm}),
    auth_modes=(AuthMode.oauth2_authorization_code,),
    base_url=f"{LOGIN_HOST}{API_PATH}",
    docs_url="https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/",
    oauth=OAuth2Endpoints(
        authorize_url=f"{LOGIN_HOST}/services/oauth2/authorize",
        token_url=f"{LOGIN_HOST}/services/oauth2/token",
        # `api` reaches the REST API; `refresh_token` is what makes Salesforce issue one.
        scopes=("api", "refresh_token"),
        pkce=True,
        client_auth="client_secret_post",
    ),
    rate_limits=("15000/day",),
    pagination=Pagination.cursor,
    idempotency_header=None,
    test_call="GET /limits: the org's daily API request allocation and what is left of it",
    terms=TermsOfUse(
        url="https://www.salesforce.com/company/legal/program-agreement/",
        summary=(
            "Apps reaching Salesforce through its APIs are bound by the Salesforce Program "
            "and Purchase Agreement and the org's own Master Subscription Agreement, which "
            "counts every call against the org's API allocation. Gigforge acts only in the "
            "org the user connected, with a Connected App the user's admin approves, and "
            "keeps its tokens encrypted in the vault."
        ),
        allows=(
            "Reading and writing the connected org's Contacts, Accounts and Opportunities "
            "through the REST API with the `api` scope",
            "Keeping a refresh token to act while the user is away (`refresh_token` scope)",
        ),
        forbids=(
            "Exceeding the org's API request allocation or working around it",
            "Reaching Salesforce other than through its documented APIs (no screen scraping)",
            "Using the org's data for anything but the user's own sync",
        ),
    ),
    config_model=SalesforceConfig,
)
