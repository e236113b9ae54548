# ruff: noqa: RUF001, RUF002 - Freelance.ru writes in Russian; Cyrillic here is meant.
"""Pure translations from Freelance.ru's RSS items to Gigforge's models.

An item carries `title`, `link` (the project's page, `/projects/<slug>-<id>.html`), `guid`,
`description` (the brief, where the client often states a budget in roubles), `pubDate` and
`category`. The budget is read from the text: "Бюджет: 15 000 руб.", "от 10 000 до 20 000
руб.", "до 5000 ₽", "500 руб./час"; "договорная" (negotiable) and text with no rouble amount
give no budget.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from gigforge.integrations.framework.capabilities import Budget, BudgetKind, JobPosting
from gigforge.integrations.framework.feeds import MalformedItem, rss_item_fields
from gigforge.integrations.freelanceru.spec import SITE_URL, SOURCE_NAME, SPEC
from gigforge.kit.money import major_to_minor
from gigforge.kit.sanitize import plain_text, safe_html

CURRENCY = "RUB"
TITLE_LIMIT = 300
NOTICE = "Проект с Freelance.ru (project listed on Freelance.ru); reply on its page there."
_ELEMENTS = {
    "title": "title",
    "link": "link",
    "id": "guid",
    "published": "pubDate",
    "summary": "description",
    "author": "author",
}
_PROJECT_ID = re.compile(r"/projects/(?:[^/]*?-)?(\d+)\.html?$")
_AMOUNT = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+"
_ROUBLES = re.compile(
    rf"(?:(?P<prefix>от|до)\s+)?(?P<low>{_AMOUNT})"
    rf"(?:\s*(?:до|-|–|—)\s*(?P<high>{_AMOUNT}))?"
    r"\s*(?:руб(?:\.|лей|ля|ль)?|₽|rub\b|р\.)",
    re.IGNORECASE,
)
_PER_HOUR = re.compile(r"\s*(?:/\s*|в\s+|за\s+)час", re.IGNORECASE)


def item_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A feedparser entry as the item's own elements, strings only, so the posting's `raw` is
    plain JSON and the mapping below can be tested on the documented shape."""
    return rss_item_fields(entry, _ELEMENTS)


def to_posting(item: Mapping[str, Any]) -> JobPosting:
    """One item. Raises `MalformedItem` when it lacks a title or a link to its project page."""
    url = _string(item.get("link")) or _string(item.get("guid"))
    if not url.startswith((f"{SITE_URL}/", "https://www.freelance.ru/")):
        raise MalformedItem(f"item {url or '(no link)'} does not link to {SITE_URL}")
    title = plain_text(_string(item.get("title")), limit=TITLE_LIMIT)
    if not title:
        raise MalformedItem(f"item {url} has no title")
    description = _string(item.get("description"))
    author = plain_text(_string(item.get("author")))
    category = plain_text(_string(item.get("category")))
    return JobPosting(
        platform=SPEC.slug,
        external_id=project_id(url, _string(item.get("guid"))),
        url=url,
        title=title,
        description=safe_html(description),
        category=category or None,
        budget=rouble_budget(f"{title}\n{plain_text(description)}"),
        posted_at=rfc822(item.get("pubDate")),
        client={"name": author} if author else {},
        raw={**item, "attribution": {"source": SOURCE_NAME, "url": url, "notice": NOTICE}},
    )


def project_id(url: str, guid: str) -> str:
    """The number in `/projects/<slug>-<id>.html`; the guid or the URL when there is none."""
    match = _PROJECT_ID.search(url.split("?", 1)[0])
    return match.group(1) if match else guid or url


def rouble_budget(text: str) -> Budget | None:
    """The first rouble amount or range in the text; an amount per hour is hourly."""
    match = _ROUBLES.search(text)
    if match is None:
        return None
    low: int | None = _roubles(match["low"])
    high = _roubles(match["high"]) if match["high"] else None
    if match["prefix"] and match["prefix"].lower() == "до" and high is None:
        low, high = None, low
    elif high is None:
        high = low
    if low is not None and high is not None and low > high:
        low, high = high, low
    if not low and not high:
        return None
    hourly = _PER_HOUR.match(text, match.end()) is not None
    return Budget(
        kind=BudgetKind.hourly if hourly else BudgetKind.fixed,
        currency=CURRENCY,
        min_minor=low or None,
        max_minor=high or None,
    )


def rfc822(value: Any) -> datetime | None:
    text = _string(value)
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _roubles(amount: str) -> int:
    return major_to_minor(re.sub(r"\D", "", amount), CURRENCY)


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
