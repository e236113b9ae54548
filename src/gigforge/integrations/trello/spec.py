"""Trello as Gigforge sees it: boards as projects, lists as statuses, cards as tasks, over the
REST API at `https://api.trello.com/1` (https://developer.atlassian.com/cloud/trello/rest/).

Auth: every request carries the app's API key as `key=` and the member's token as `token=`
query parameters (https://developer.atlassian.com/cloud/trello/guides/rest-api/authorization/).
The key identifies the app and Trello treats it as public; the token acts for the member and
is the secret. The policy layer adds `token=` at send time; the connector adds `key=` from the
public config. Webhook deliveries are signed with the app's secret (shown beside the key on the
Power-Up admin page), which is kept in the vault like the token.

Rate limits (https://developer.atlassian.com/cloud/trello/guides/rest-api/rate-limits/): 300
requests per 10 seconds per API key and 100 per 10 seconds per token; a request over either
answers 429 with `{"error": "API_TOKEN_LIMIT_EXCEEDED" | "API_KEY_LIMIT_EXCEEDED", ...}`. One
connection is one token, so we budget its 100 per 10 seconds. Each user connects with their
own app key, so the key's 300 are not shared between Gigforge users. Trello sends
`x-rate-limit-api-token-remaining` (with `...-interval-ms` and `...-max`, and the same for the
key) but no reset time and no `Retry-After`: the remaining count is named here for the policy
layer, and a 429 waits its exponential backoff. Trello's stricter limit on `/1/members/{id}`
itself (100 per 900 seconds) touches only the test call; nested routes such as
`/1/members/me/boards` do not count against it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    RateLimitHeaders,
    TermsOfUse,
)

SITE_URL = "https://trello.com"
KEY_PARAM = "key"
TOKEN_PARAM = "token"  # noqa: S105 - a query parameter's name
DEFAULT_DONE_LISTS = ("Done",)


class TrelloConfig(BaseModel):
    """What the user enters to connect: their app's key and secret and a token for them."""

    model_config = ConfigDict(title="Trello connection", frozen=True)

    api_key: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[0-9a-fA-F]+$",
        description="API key of your Power-Up or integration at https://trello.com/power-ups/admin",
    )
    token: SecretStr = Field(
        min_length=1,
        description="A token you authorized for that key (read and write on your boards)",
        json_schema_extra={"writeOnly": True},
    )
    app_secret: SecretStr | None = Field(
        default=None,
        description="The secret shown beside the API key; needed only to verify webhooks",
        json_schema_extra={"writeOnly": True},
    )
    done_lists: tuple[str, ...] = Field(
        default=DEFAULT_DONE_LISTS,
        description="Names of the lists whose cards count as finished (case does not matter)",
    )


SPEC = IntegrationSpec(
    slug="trello",
    title="Trello",
    description=(
        "Keeps your jobs as Trello boards and their tasks as cards: creates and updates them, "
        "reads what you changed on the board (cards moved, edited, archived or deleted) and "
        "hears about it at once through Trello's signed webhooks."
    ),
    capabilities=frozenset({Capability.project_tool}),
    auth_modes=(AuthMode.api_key_query,),
    base_url="https://api.trello.com/1",
    docs_url="https://developer.atlassian.com/cloud/trello/rest/",
    credential_field="token",
    credential_query_param=TOKEN_PARAM,
    rate_limits=("100/10 seconds",),
    rate_limit_headers=RateLimitHeaders(remaining="x-rate-limit-api-token-remaining"),
    pagination=Pagination.none,
    idempotency_header=None,
    test_call="GET /members/me: the token's member id and username",
    terms=TermsOfUse(
        url="https://developer.atlassian.com/platform/marketplace/atlassian-developer-terms/",
        summary=(
            "Trello's REST API is offered under the Atlassian Developer Terms. An app uses its "
            "own API key and acts only through tokens its users authorized, within the access "
            "they granted, and must respect the rate limits. Gigforge reads and writes only "
            "the boards and cards of the member who authorized the token, keeps the token and "
            "the app secret encrypted in its vault, and verifies every webhook delivery."
        ),
        allows=(
            "Creating, reading, updating and deleting boards, lists and cards the token can reach",
            "Registering webhooks on those boards for the token that owns them",
            "Reading the member's workspaces (organizations) and boards",
        ),
        forbids=(
            "Acting on boards the member did not authorize the token for",
            "Exceeding the documented rate limits or working around them with several keys",
            "Sharing the member's Trello data with anyone they did not choose",
        ),
    ),
    config_model=TrelloConfig,
)
