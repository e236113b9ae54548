"""Pure translations from Himalayas' jobs API to Gigforge's models.

A page is `{"updatedAt": ..., "offset": n, "limit": n, "totalCount": n, "jobs": [...]}`. A job
(https://himalayas.app/docs/data-dictionary) has `guid` (the listing's URL on Himalayas),
`title`, `excerpt`, `description` (HTML), `companyName`, `companySlug`, `companyLogo`,
`employmentType`, `minSalary` / `maxSalary` (yearly, null when not given) in `currency`,
`seniority`, `locationRestrictions`, `timezoneRestrictions`, `categories`, `parentCategories`,
`pubDate` / `expiryDate` (Unix time) and `applicationLink`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gigforge.integrations.framework.capabilities import Budget, BudgetKind, JobPosting
from gigforge.integrations.himalayas.spec import SITE_URL, SOURCE_NAME, SPEC
from gigforge.kit.money import major_to_minor
from gigforge.kit.sanitize import plain_text, safe_html

TITLE_LIMIT = 300
# The data dictionary gives `pubDate` in milliseconds; older answers used seconds. A value past
# this (in seconds, the year 5138) can only be milliseconds.
MILLISECONDS_FROM = 10**11
NOTICE = (
    "Listed on Himalayas. Its API terms ask for a link back to this listing on Himalayas and "
    "for Himalayas to be named as the source."
)


class MalformedItem(ValueError):
    """A job that cannot become a posting; the reason says which field failed."""


def to_posting(raw: Mapping[str, Any]) -> JobPosting:
    """One job. Raises `MalformedItem` when it lacks a guid, a title or a link back."""
    guid = _string(raw.get("guid"))
    if not guid:
        raise MalformedItem("the job has no guid")
    title = plain_text(_string(raw.get("title")), limit=TITLE_LIMIT)
    if not title:
        raise MalformedItem(f"job {guid} has no title")
    url = listing_url(raw)
    categories = _strings(raw.get("categories"))
    parents = _strings(raw.get("parentCategories"))
    return JobPosting(
        platform=SPEC.slug,
        external_id=guid,
        url=url,
        title=title,
        description=safe_html(_string(raw.get("description")) or _string(raw.get("excerpt"))),
        skills=categories,
        category=parents[0] if parents else None,
        budget=salary_budget(raw),
        posted_at=unix_time(raw.get("pubDate")),
        client=_client(raw),
        raw={**raw, "attribution": {"source": SOURCE_NAME, "url": url, "notice": NOTICE}},
    )


def listing_url(raw: Mapping[str, Any]) -> str:
    """The listing on Himalayas, which the terms require every posting to link to: the `guid`
    or `applicationLink` on himalayas.app, else whichever of them is a web address."""
    candidates = [_string(raw.get("guid")), _string(raw.get("applicationLink"))]
    for candidate in candidates:
        if candidate.startswith(f"{SITE_URL}/"):
            return candidate
    for candidate in candidates:
        if candidate.startswith(("https://", "http://")):
            return candidate
    raise MalformedItem(f"job {raw.get('guid')} has no URL to link back to")


def salary_budget(raw: Mapping[str, Any]) -> Budget | None:
    """`minSalary` / `maxSalary` in `currency`. They are yearly unless `salaryPeriod` says
    `hourly`, so a range is kept as a yearly `salary` or an `hourly` rate."""
    currency = _string(raw.get("currency")).upper()
    if len(currency) != 3 or not currency.isalpha():
        return None
    low = _minor(raw.get("minSalary"), currency)
    high = _minor(raw.get("maxSalary"), currency)
    if low is None and high is None:
        return None
    if low is not None and high is not None and low > high:
        low, high = high, low
    hourly = _string(raw.get("salaryPeriod")).lower() == "hourly"
    kind = BudgetKind.hourly if hourly else BudgetKind.salary
    return Budget(kind=kind, currency=currency, min_minor=low, max_minor=high)


def unix_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    seconds = value / 1000 if value >= MILLISECONDS_FROM else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _client(raw: Mapping[str, Any]) -> dict[str, Any]:
    name = plain_text(_string(raw.get("companyName")))
    if not name:
        return {}
    client: dict[str, Any] = {"name": name}
    slug = _string(raw.get("companySlug"))
    if slug:
        client["slug"] = slug
    logo = _string(raw.get("companyLogo"))
    if logo.startswith("https://"):
        client["logo_url"] = logo
    return client


def _minor(value: Any, currency: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        minor = major_to_minor(str(value), currency)
    except (ArithmeticError, ValueError):
        return None
    return minor if minor > 0 else None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    items: list[str] = []
    for item in value:
        text = plain_text(_string(item), limit=80)
        if text and text not in items:
            items.append(text)
    return tuple(items)


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
