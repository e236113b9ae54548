"""Pure translations from We Work Remotely's RSS items to Gigforge's models.

An item carries `title` ("Company: Job title"), `link` and `guid` (the listing on
weworkremotely.com), `pubDate` and `expires_at` (RFC 822), `description` (HTML), `region`,
`country`, `state`, `skills` (comma-separated), `category`, `type` (Full-Time, Contract, ...)
and a `media:content` logo. The feeds carry no salary, so postings have no budget.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.framework.feeds import MalformedItem, rss_item_fields
from gigforge.integrations.weworkremotely.spec import SITE_URL, SOURCE_NAME, SPEC
from gigforge.kit.sanitize import plain_text, safe_html

TITLE_LIMIT = 300
NOTICE = (
    "Listed on We Work Remotely. Its terms ask that links are attributed back to We Work "
    "Remotely and that applying goes through weworkremotely.com."
)
_COMPANY_AND_TITLE = re.compile(r"^(?P<company>[^:]+):(?:\s+(?P<title>.*))?$")
# feedparser's name for an element -> the element's name in the feed.
_ELEMENTS = {
    "title": "title",
    "link": "link",
    "id": "guid",
    "published": "pubDate",
    "summary": "description",
    "region": "region",
    "country": "country",
    "state": "state",
    "skills": "skills",
    "type": "type",
    "expires_at": "expires_at",
}


def item_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A feedparser entry as the item's own elements, strings only, so the posting's `raw` is
    plain JSON and the mapping below can be tested on the documented shape."""
    item = rss_item_fields(entry, _ELEMENTS)
    logos = [
        media["url"]
        for media in entry.get("media_content") or ()
        if isinstance(media, Mapping) and isinstance(media.get("url"), str)
    ]
    if logos:
        item["media_content"] = logos[0]
    return item


def to_posting(item: Mapping[str, Any]) -> JobPosting:
    """One item. Raises `MalformedItem` when it lacks a title or a link to weworkremotely.com,
    which the terms require applying to go through."""
    url = _string(item.get("link")) or _string(item.get("guid"))
    if not url.startswith(f"{SITE_URL}/"):
        raise MalformedItem(f"item {url or '(no link)'} does not link to {SITE_URL}")
    company, title = split_title(_string(item.get("title")))
    if not title:
        raise MalformedItem(f"item {url} has no title")
    client: dict[str, Any] = {"name": company} if company else {}
    logo = _string(item.get("media_content"))
    if company and logo.startswith("https://"):
        client["logo_url"] = logo
    category = plain_text(_string(item.get("category")))
    return JobPosting(
        platform=SPEC.slug,
        external_id=_string(item.get("guid")) or url,
        url=url,
        title=title,
        description=safe_html(_string(item.get("description"))),
        skills=_skills(item.get("skills")),
        category=category or None,
        posted_at=rfc822(item.get("pubDate")),
        client=client,
        raw={**item, "attribution": {"source": SOURCE_NAME, "url": url, "notice": NOTICE}},
    )


def split_title(raw_title: str) -> tuple[str, str]:
    """We Work Remotely titles read "Company: Job title"; the job title may hold colons too."""
    text = plain_text(raw_title, limit=TITLE_LIMIT * 2)
    match = _COMPANY_AND_TITLE.match(text)
    if match is None:
        return "", text[:TITLE_LIMIT]
    return match["company"].strip(), (match["title"] or "")[:TITLE_LIMIT]


def rfc822(value: Any) -> datetime | None:
    text = _string(value)
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _skills(value: Any) -> tuple[str, ...]:
    skills: list[str] = []
    for part in _string(value).split(","):
        skill = plain_text(part, limit=60)
        if skill and skill not in skills:
            skills.append(skill)
    return tuple(skills)


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
