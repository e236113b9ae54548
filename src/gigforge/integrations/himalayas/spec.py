"""Himalayas as Gigforge sees it: `GET https://himalayas.app/jobs/api?offset=&limit=`, public and
keyless, newest first, at most 20 jobs a request (https://himalayas.app/docs/remote-jobs-api;
fields in https://himalayas.app/docs/data-dictionary).

Himalayas rate-limits the API (answering 429) without publishing the numbers, and refreshes
its data about once a day. We budget ten calls a minute and three hundred a day, a ceiling we
chose: a run reads a few pages and stops at the last listing it has already seen.
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

SITE_URL = "https://himalayas.app"
JOBS_PATH = "/jobs/api"
SOURCE_NAME = "Himalayas"
DOCS_URL = f"{SITE_URL}/docs/remote-jobs-api"
MAX_PAGE_SIZE = 20


class HimalayasConfig(BaseModel):
    """How far back a run may read when it has no `since` to stop at."""

    model_config = ConfigDict(title="Himalayas feed", frozen=True)

    max_pages: int = Field(
        default=5,
        ge=1,
        le=50,
        description="Most pages of 20 listings one run reads, newest first",
    )


SPEC = IntegrationSpec(
    slug="himalayas",
    title="Himalayas",
    description="Reads the remote jobs Himalayas publishes through its public jobs API.",
    capabilities=frozenset({Capability.job_feed}),
    auth_modes=(AuthMode.none,),
    base_url=SITE_URL,
    docs_url=DOCS_URL,
    rate_limits=("10/minute", "300/day"),
    pagination=Pagination.offset,
    test_call="GET /jobs/api?limit=1: proves the API answers and reports the total",
    terms=TermsOfUse(
        url=DOCS_URL,
        summary=(
            "Himalayas offers its jobs API free and without a key for applications that show "
            "its listings, on condition of attribution: link back to the listing's URL on "
            "Himalayas and name Himalayas as the source. Its jobs must not be submitted to "
            "Google Jobs or other job boards. Requests return at most 20 jobs, the data is "
            "refreshed about daily, and excess requests are refused with 429."
        ),
        allows=(
            "Reading listings page by page with offset and limit (20 at most)",
            "Showing listings that link back to Himalayas and name it as the source",
        ),
        forbids=(
            "Showing a listing without a link back to Himalayas and its name",
            "Submitting Himalayas jobs to Google Jobs or other job boards",
            "Asking for more than 20 jobs a request or calling faster than the rate limit",
        ),
    ),
    config_model=HimalayasConfig,
)
