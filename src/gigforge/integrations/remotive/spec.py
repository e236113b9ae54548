"""Remotive as Gigforge sees it: `GET https://remotive.com/api/remote-jobs`, public and keyless,
documented with its terms at https://github.com/remotive-com/remote-jobs-api.

Remotive asks for no more than four calls a day ("a couple of times a day ... max. 4 times a
day") and blocks more than two a minute; the budget is exactly that. Its listings are delayed
by 24 hours on purpose, so calling more often would find nothing new anyway.
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

SITE_URL = "https://remotive.com"
JOBS_PATH = "/api/remote-jobs"
SOURCE_NAME = "Remotive"
DOCS_URL = "https://github.com/remotive-com/remote-jobs-api"


class RemotiveConfig(BaseModel):
    """The filters Remotive applies on its side; all optional."""

    model_config = ConfigDict(title="Remotive feed", frozen=True)

    category: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9 &/-]{1,80}$",
        description=(
            "A Remotive category name or slug, such as `software-dev`; the list is at "
            "https://remotive.com/api/remote-jobs/categories"
        ),
    )
    search: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Words to look for in titles and descriptions",
    )
    limit: int | None = Field(
        default=None, ge=1, le=1000, description="Most listings to fetch; empty fetches all"
    )


SPEC = IntegrationSpec(
    slug="remotive",
    title="Remotive",
    description="Reads the remote jobs Remotive publishes through its public jobs API.",
    capabilities=frozenset({Capability.job_feed}),
    auth_modes=(AuthMode.none,),
    base_url=SITE_URL,
    docs_url=DOCS_URL,
    rate_limits=("2/minute", "4/day"),
    pagination=Pagination.none,
    test_call="GET /api/remote-jobs?limit=1: proves the API answers",
    terms=TermsOfUse(
        url=DOCS_URL,
        summary=(
            "Remotive grants API access so developers can share its jobs further. Every "
            "listing must link back to its URL on Remotive and name Remotive as the source, "
            "or API access is terminated. Jobs must not be submitted to third-party job sites "
            "(Jooble, Neuvoo, Google Jobs, LinkedIn Jobs), nor shown to collect sign-ups or "
            "email addresses. Call the API a couple of times a day, at most four; more than "
            "two calls a minute are blocked. Listings arrive 24 hours after they are posted."
        ),
        allows=(
            "Reading active listings, filtered by category, search words and count",
            "Showing listings that link back to Remotive and name it as the source",
        ),
        forbids=(
            "More than four calls a day, or more than two a minute",
            "Showing a listing without a link back to Remotive and its name",
            "Submitting Remotive jobs to other job sites or Google Jobs",
            "Gating listings behind a sign-up or an email address",
        ),
    ),
    config_model=RemotiveConfig,
)
