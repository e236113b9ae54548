"""We Work Remotely as Gigforge sees it: public RSS feeds, `/remote-jobs.rss` for every job and
`/categories/<slug>.rss` for one category (https://weworkremotely.com/remote-job-rss-feed).

The RSS page lets anyone use the feeds if links are attributed back to We Work Remotely, but
its API terms (https://weworkremotely.com/api-terms-and-guidelines) forbid using any We Work
Remotely data to build a job search service or a tool that replaces its site, and require that
applying goes through weworkremotely.com. Gigforge aggregates jobs for its user, which can fall
under that clause, so the connection stays off until the user has read the terms and turned it
on. The feeds declare a 60-minute TTL; we read each at most about once an hour.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gigforge.integrations.framework.spec import (
    AuthMode,
    Capability,
    IntegrationSpec,
    Pagination,
    TermsOfUse,
)

SITE_URL = "https://weworkremotely.com"
ALL_JOBS_PATH = "/remote-jobs.rss"
CATEGORY_PATH = "/categories/{slug}.rss"
SOURCE_NAME = "We Work Remotely"
RSS_DOCS_URL = f"{SITE_URL}/remote-job-rss-feed"
TERMS_URL = f"{SITE_URL}/api-terms-and-guidelines"

# Each feed is one call; four feeds a run fit the hourly budget at the scanner's pace.
MAX_CATEGORIES = 4

CategorySlug = Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]


class WeWorkRemotelyConfig(BaseModel):
    """Off by default: the user decides, after reading the terms, that their use is allowed."""

    model_config = ConfigDict(title="We Work Remotely feeds", frozen=True)

    enabled_by_user: bool = Field(
        default=False,
        description=(
            "We Work Remotely's terms restrict automated use of its data: they forbid using it "
            f"to build a job search service and require applying on its site ({TERMS_URL}). "
            "Turn this on only after reading them and deciding your use is allowed; until "
            "then Gigforge does not read these feeds."
        ),
    )
    categories: tuple[CategorySlug, ...] = Field(
        default=(),
        max_length=MAX_CATEGORIES,
        description=(
            "Up to four category feeds to read, by slug, such as "
            f"`remote-back-end-programming-jobs`; empty reads {ALL_JOBS_PATH}, which has "
            "every category"
        ),
    )


SPEC = IntegrationSpec(
    slug="weworkremotely",
    title="We Work Remotely",
    description=(
        "Reads We Work Remotely's public RSS job feeds, once you have turned it on after "
        "reading its terms."
    ),
    capabilities=frozenset({Capability.job_feed}),
    auth_modes=(AuthMode.none,),
    base_url=SITE_URL,
    docs_url=RSS_DOCS_URL,
    rate_limits=("12/hour", "200/day"),
    pagination=Pagination.none,
    test_call="GET the first configured feed: counts its items",
    terms=TermsOfUse(
        url=TERMS_URL,
        summary=(
            "We Work Remotely restricts automated use of its data. Its RSS page lets anyone "
            "use the feeds as long as links are attributed back to We Work Remotely, but its "
            "API terms forbid using any We Work Remotely data to build a job search or job "
            "advertising service, or anything that replicates or replaces weworkremotely.com, "
            "and require that applying is routed through weworkremotely.com. Gigforge keeps "
            "this connection off until the user turns it on after reading the terms, reads "
            "only the published RSS feeds, links every listing back to its page on We Work "
            "Remotely, and never applies on the user's behalf."
        ),
        allows=(
            "Reading the published RSS feeds, with links attributed back to We Work Remotely",
            "Pulling job details such as company name, logo and description",
        ),
        forbids=(
            "Using We Work Remotely data to build a job search or job advertising service",
            "Replicating or replacing weworkremotely.com as a destination for its content",
            "Applying for a job anywhere but through weworkremotely.com",
            "Branding an application with the We Work Remotely name or logo",
        ),
    ),
    config_model=WeWorkRemotelyConfig,
)
