"""Remote OK as Gigforge sees it: one public JSON endpoint, `GET https://remoteok.com/api`, that
answers with the current board as an array whose first element is Remote OK's legal notice.

Remote OK publishes no request quota. Its notice asks for attribution and a followed link back
to every listing, and threatens to suspend API access otherwise; its robots.txt asks crawlers
for a one-second delay. The feed is a rolling window of recent jobs, so polling it often gains
nothing: we budget six calls an hour and a hundred a day, a ceiling we chose, not a promise.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)

SITE_URL = "https://remoteok.com"
API_PATH = "/api"
SOURCE_NAME = "Remote OK"


class RemoteOKConfig(BaseModel):
    """Nothing secret: the feed is public. Tags narrow it to the stacks the user works in."""

    model_config = ConfigDict(title="Remote OK feed", frozen=True)

    tags: tuple[str, ...] = Field(
        default=(),
        description="Remote OK tags to follow, such as `python` or `devops`; empty follows all",
    )


SPEC = IntegrationSpec(
    slug="remoteok",
    title="Remote OK",
    description="Reads the remote jobs Remote OK publishes in its public JSON feed.",
    capabilities=frozenset({Capability.job_feed}),
    auth_modes=(AuthMode.none,),
    base_url=SITE_URL,
    docs_url=f"{SITE_URL}/api",
    rate_limits=("6/hour", "100/day"),
    pagination=Pagination.none,
    test_call="GET /api: counts the listings in the current feed",
    terms=TermsOfUse(
        url=f"{SITE_URL}/api",
        summary=(
            "Remote OK states its API terms in the feed itself (the first element's `legal` "
            "text): link back to the listing's URL on Remote OK with a followed link (no "
            "nofollow) and name Remote OK as the source, or API access is suspended; do not "
            "use the Remote OK logo without written permission. Gigforge keeps the source, "
            "the listing URL and that notice on every posting, and calls the feed at most a "
            "few times an hour."
        ),
        allows=(
            "Reading the public feed at /api",
            "Showing listings that name Remote OK and link back to the listing on Remote OK",
        ),
        forbids=(
            "Showing a listing without a followed link back to Remote OK",
            "Using the Remote OK logo without written permission",
            "Calling the feed more often than its content changes",
        ),
    ),
    config_model=RemoteOKConfig,
)
