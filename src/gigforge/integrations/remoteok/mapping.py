"""Pure translations from Remote OK's feed to Gigforge's models.

The feed (https://remoteok.com/api) is a JSON array. Element 0 is `{"last_updated": <epoch>,
"legal": "API Terms of Service: ..."}`; every other element is a job: `id`, `slug`, `url`,
`apply_url`, `position`, `company`, `company_logo`, `description` (HTML), `tags`, `location`,
`epoch` (Unix seconds), `date` (ISO 8601), and `salary_min` / `salary_max` in US dollars a year,
which Remote OK sends as 0 when the employer gave no salary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gigforge.integrations.framework.capabilities import Budget, BudgetKind, JobPosting
from gigforge.integrations.remoteok.spec import SITE_URL, SOURCE_NAME, SPEC
from gigforge.kit.money import major_to_minor
from gigforge.kit.sanitize import plain_text, safe_html

SALARY_CURRENCY = "USD"
TITLE_LIMIT = 300
DEFAULT_NOTICE = (
    "Listed on Remote OK. Its API terms ask for a followed link (no nofollow) to this listing "
    "on Remote OK and for Remote OK to be named as the source."
)


class MalformedItem(ValueError):
    """A feed element that cannot become a posting; the reason says which field failed."""


def is_legal_notice(item: Any) -> bool:
    """The terms element: it carries `legal` and, unlike every job, no `id`."""
    return isinstance(item, Mapping) and "legal" in item and item.get("id") is None


def legal_notice(items: list[Any]) -> str:
    """The feed's own terms text, which the attribution repeats; ours when it is missing."""
    for item in items:
        if is_legal_notice(item) and isinstance(item.get("legal"), str) and item["legal"].strip():
            return plain_text(item["legal"])
    return DEFAULT_NOTICE


def to_posting(raw: Mapping[str, Any], *, notice: str = DEFAULT_NOTICE) -> JobPosting:
    """One job element. Raises `MalformedItem` when it lacks an id, a title or a link back."""
    external_id = _string(raw.get("id"))
    if not external_id:
        raise MalformedItem("the job has no id")
    title = plain_text(_string(raw.get("position")), limit=TITLE_LIMIT)
    if not title:
        raise MalformedItem(f"job {external_id} has no position")
    url = listing_url(raw)
    company = plain_text(_string(raw.get("company")))
    client: dict[str, Any] = {"name": company} if company else {}
    logo = _string(raw.get("company_logo") or raw.get("logo"))
    if company and logo.startswith("https://"):
        client["logo_url"] = logo
    return JobPosting(
        platform=SPEC.slug,
        external_id=external_id,
        url=url,
        title=title,
        description=safe_html(_string(raw.get("description"))),
        skills=_tags(raw.get("tags")),
        budget=salary_budget(raw.get("salary_min"), raw.get("salary_max")),
        posted_at=posted_at(raw),
        client=client,
        raw={
            **raw,
            "attribution": {"source": SOURCE_NAME, "url": url, "notice": notice},
        },
    )


def listing_url(raw: Mapping[str, Any]) -> str:
    """The listing on Remote OK, which the terms require every posting to link to: `url`, or
    the page its `slug` names. An element with neither cannot be shown, so it is refused."""
    url = _string(raw.get("url"))
    if url.lower().startswith(("https://remoteok.com/", "https://remoteok.io/")):
        return url
    slug = _string(raw.get("slug"))
    if slug and "/" not in slug:
        return f"{SITE_URL}/remote-jobs/{slug}"
    raise MalformedItem(f"job {raw.get('id')} has no Remote OK URL to link back to")


def salary_budget(minimum: Any, maximum: Any) -> Budget | None:
    """A yearly salary range in USD, kept as a range of kind `salary`; 0 or a missing bound
    means Remote OK was not told that bound."""
    low = _dollars(minimum)
    high = _dollars(maximum)
    if low is None and high is None:
        return None
    if low is not None and high is not None and low > high:
        low, high = high, low
    return Budget(kind=BudgetKind.salary, currency=SALARY_CURRENCY, min_minor=low, max_minor=high)


def posted_at(raw: Mapping[str, Any]) -> datetime | None:
    epoch = raw.get("epoch")
    if isinstance(epoch, int | float) and not isinstance(epoch, bool) and epoch > 0:
        return datetime.fromtimestamp(epoch, UTC)
    date = _string(raw.get("date"))
    if not date:
        return None
    try:
        parsed = datetime.fromisoformat(date)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _dollars(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        minor = major_to_minor(str(value).strip(), SALARY_CURRENCY)
    except (ArithmeticError, ValueError):
        return None
    return minor if minor > 0 else None


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    tags: list[str] = []
    for tag in value:
        text = plain_text(_string(tag), limit=60)
        if text and text not in tags:
            tags.append(text)
    return tuple(tags)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""
