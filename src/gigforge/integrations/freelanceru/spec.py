"""Freelance.ru as Gigforge sees it: public RSS feeds of new projects, in Russian and
traditionally encoded as windows-1251. `/rss/projects.xml` carries every new project; the page
https://freelance.ru/rss/index builds narrower feeds by specialisation, such as
`/rss/feed/list/s.116`, which the user can paste in as the feed path.

Freelance.ru publishes no API and no numbers for reading its feeds. We budget twelve reads an
hour and two hundred a day, a ceiling we chose: new projects arrive by the minute, but a reply
an hour late loses little, and a feed read is one request.
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

SITE_URL = "https://freelance.ru"
ALL_PROJECTS_PATH = "/rss/projects.xml"
FEEDS_PAGE = f"{SITE_URL}/rss/index"
SOURCE_NAME = "Freelance.ru"
# What Freelance.ru's feeds are encoded in when a response's declared charset does not fit.
SITE_ENCODING = "windows-1251"


class FreelanceRuConfig(BaseModel):
    """Which of Freelance.ru's feeds to read; nothing secret, the feeds are public."""

    model_config = ConfigDict(title="Freelance.ru feed", frozen=True)

    feed_path: str = Field(
        default=ALL_PROJECTS_PATH,
        pattern=r"^/rss/[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)*$",
        max_length=200,
        description=(
            f"Path of the feed to read: {ALL_PROJECTS_PATH} for every new project, or the path "
            f"of a feed built for your specialisations on {FEEDS_PAGE}"
        ),
    )


SPEC = IntegrationSpec(
    slug="freelanceru",
    title="Freelance.ru",
    description="Reads new projects from Freelance.ru's public RSS feeds.",
    capabilities=frozenset({Capability.job_feed}),
    auth_modes=(AuthMode.none,),
    base_url=SITE_URL,
    docs_url=FEEDS_PAGE,
    rate_limits=("12/hour", "200/day"),
    pagination=Pagination.none,
    test_call="GET the configured feed: counts its items",
    terms=TermsOfUse(
        url=FEEDS_PAGE,
        summary=(
            "Freelance.ru offers RSS feeds of new projects for anyone to subscribe to, built on "
            "its RSS page, and publishes no API and no terms of its own for them; use of the "
            "site stays under its user rules. Gigforge reads only the published feed, a few "
            "times an hour, never the site's pages, names Freelance.ru as the source and links "
            "every project back to its page there. Replying to a client happens on "
            "Freelance.ru, by the user."
        ),
        allows=(
            "Subscribing to the published RSS feeds of new projects",
            "Showing projects with a link back to their page on Freelance.ru",
        ),
    ),
    config_model=FreelanceRuConfig,
)
