"""The GraphQL documents the connector sends, and the variables for a job search.

Field and argument names follow Upwork's reference
(https://www.upwork.com/developer/documentation/graphql/api/docs/index.html): the
`marketplaceJobPostingsSearch` query takes a `MarketplaceJobPostingsSearchFilter` whose
`pagination_eq: {after, first}` carries the cursor, a `searchType` and `sortAttributes`, and
answers a connection with `edges { cursor node }`, `pageInfo` and `totalCount`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from gigforge.integrations.framework.capabilities import JobQuery

PAGE_SIZE = 50

CURRENT_USER = """
query CurrentUser {
  user {
    id
    nid
    rid
    name
  }
}
"""

SEARCH_JOB_POSTINGS = """
query MarketplaceJobPostingsSearch(
  $marketPlaceJobFilter: MarketplaceJobPostingsSearchFilter
  $searchType: MarketplaceJobPostingSearchType
  $sortAttributes: [MarketplaceJobPostingSearchSortAttribute]
) {
  marketplaceJobPostingsSearch(
    marketPlaceJobFilter: $marketPlaceJobFilter
    searchType: $searchType
    sortAttributes: $sortAttributes
  ) {
    totalCount
    edges {
      cursor
      node {
        id
        ciphertext
        title
        description
        createdDateTime
        publishedDateTime
        category
        subcategory
        experienceLevel
        duration
        totalApplicants
        skills { name prettyName }
        amount { rawValue currency }
        hourlyBudgetMin { rawValue currency }
        hourlyBudgetMax { rawValue currency }
        client {
          totalHires
          totalPostedJobs
          totalReviews
          totalFeedback
          verificationStatus
          totalSpent { rawValue currency }
          location { country }
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""


def search_variables(query: JobQuery, *, after: str | None, now: datetime) -> dict[str, Any]:
    """Variables for one page of `SEARCH_JOB_POSTINGS`, newest postings first.

    `posted_after` becomes Upwork's whole-day `daysPosted_eq`, rounded up so nothing newer is
    lost; the connector trims the older remainder. `min_budget_minor` is not sent: Upwork
    filters fixed budgets and hourly rates separately, so one minimum would silently drop the
    other kind of job.
    """
    pagination: dict[str, Any] = {"first": min(query.limit, PAGE_SIZE)}
    if after is not None:
        pagination["after"] = after
    job_filter: dict[str, Any] = {"pagination_eq": pagination}
    if query.keywords:
        job_filter["searchExpression_eq"] = query.keywords
    if query.skills:
        job_filter["skillExpression_eq"] = " OR ".join(query.skills)
    if query.posted_after is not None:
        age_days = (now - query.posted_after).total_seconds() / 86400
        job_filter["daysPosted_eq"] = max(1, math.ceil(age_days))
    return {
        "marketPlaceJobFilter": job_filter,
        "searchType": "USER_JOBS_SEARCH",
        "sortAttributes": [{"field": "RECENCY"}],
    }
