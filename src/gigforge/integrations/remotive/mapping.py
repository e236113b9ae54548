"""Pure translations from Remotive's API to Gigforge's models.

`GET /api/remote-jobs` answers `{"0-legal-notice": ..., "job-count": n, "jobs": [...]}`; a job
has `id`, `url` (the listing on Remotive), `title`, `company_name`, `company_logo`, `category`,
`tags`, `job_type`, `publication_date` (ISO 8601 without a zone), `candidate_required_location`,
`salary` (free text, "usually a yearly salary range, in USD") and `description` (HTML)
(https://github.com/remotive-com/remote-jobs-api).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gigforge.integrations.framework.capabilities import Budget, BudgetKind, JobPosting
from gigforge.integrations.remotive.spec import SOURCE_NAME, SPEC
from gigforge.kit.money import major_to_minor
from gigforge.kit.sanitize import plain_text, safe_html

TITLE_LIMIT = 300
DEFAULT_CURRENCY = "USD"
NOTICE = (
    "Listed on Remotive. Its API terms ask for a link back to this listing on Remotive and for "
    "Remotive to be named as the source."
)
_CURRENCY_SIGNS = (("CA$", "CAD"), ("C$", "CAD"), ("AU$", "AUD"), ("A$", "AUD"), ("$", "USD"))
_CURRENCY_SYMBOLS = {"€": "EUR", "£": "GBP", "₹": "INR", "¥": "JPY"}
_CURRENCY_CODE = re.compile(r"\b(USD|EUR|GBP|CAD|AUD|CHF|INR|PLN|BRL|SEK|NOK|DKK|JPY|NZD)\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_HOURLY = re.compile(r"/\s*h(?:ou)?r\b|\bper hour\b|\bhourly\b|\ban hour\b|/\s*h\b", re.I)
_UP_TO = re.compile(r"\bup to\b", re.I)


class MalformedItem(ValueError):
    """A job that cannot become a posting; the reason says which field failed."""


def to_posting(raw: Mapping[str, Any]) -> JobPosting:
    """One job. Raises `MalformedItem` when it lacks an id, a title or its Remotive URL."""
    external_id = _string(raw.get("id"))
    if not external_id:
        raise MalformedItem("the job has no id")
    title = plain_text(_string(raw.get("title")), limit=TITLE_LIMIT)
    if not title:
        raise MalformedItem(f"job {external_id} has no title")
    url = _string(raw.get("url"))
    if not url.lower().startswith(("https://remotive.com/", "https://remotive.io/")):
        raise MalformedItem(f"job {external_id} has no Remotive URL to link back to")
    company = plain_text(_string(raw.get("company_name")))
    client: dict[str, Any] = {"name": company} if company else {}
    logo = _string(raw.get("company_logo"))
    if company and logo.startswith("https://"):
        client["logo_url"] = logo
    return JobPosting(
        platform=SPEC.slug,
        external_id=external_id,
        url=url,
        title=title,
        description=safe_html(_string(raw.get("description"))),
        skills=_tags(raw.get("tags")),
        category=plain_text(_string(raw.get("category"))) or None,
        budget=salary_budget(raw.get("salary")),
        posted_at=publication_date(raw.get("publication_date")),
        client=client,
        raw={**raw, "attribution": {"source": SOURCE_NAME, "url": url, "notice": NOTICE}},
    )


def salary_budget(salary: Any) -> Budget | None:
    """Remotive's salary is free text: "$40,000 - $50,000", "€60k-80k", "$45/hour", "Up to
    $120k", "Competitive". A range or single amount with an optional currency sign or code
    becomes a budget: a range stays a range, of kind `hourly` when the text says so and
    otherwise `salary` (yearly pay, as Remotive documents it); text with no amount, or amounts
    finer than the currency's minor unit, is no budget."""
    text = plain_text(_string(salary))
    if not text:
        return None
    currency = _currency(text)
    values = [amount for amount in _amounts(text) if amount > 0][:2]
    if not values:
        return None
    try:
        minors = [major_to_minor(value, currency) for value in values]
    except ValueError:
        return None
    kind = BudgetKind.hourly if _HOURLY.search(text) else BudgetKind.salary
    if len(minors) == 1:
        if _UP_TO.search(text):
            return Budget(kind=kind, currency=currency, max_minor=minors[0])
        return Budget(kind=kind, currency=currency, min_minor=minors[0], max_minor=minors[0])
    low, high = sorted(minors)
    return Budget(kind=kind, currency=currency, min_minor=low, max_minor=high)


def publication_date(value: Any) -> datetime | None:
    """Remotive writes `2020-02-15T10:23:26` with no zone; its servers keep UTC, so we do."""
    text = _string(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _currency(text: str) -> str:
    code = _CURRENCY_CODE.search(text.upper())
    if code:
        return code.group(1)
    for sign, currency in _CURRENCY_SIGNS:
        if sign in text.upper():
            return currency
    for symbol, currency in _CURRENCY_SYMBOLS.items():
        if symbol in text:
            return currency
    return DEFAULT_CURRENCY


def _amounts(text: str) -> list[Decimal]:
    """Every money amount in the text, in order; percentages are not money."""
    amounts: list[Decimal] = []
    for match in _NUMBER.finditer(text):
        after = text[match.end() :].lstrip()
        if after.startswith("%"):
            continue
        thousands = after[:1] in ("k", "K") and not after[1:2].isalpha()
        amounts.append(_amount(match.group(), thousands=thousands))
    return amounts


def _amount(number: str, *, thousands: bool) -> Decimal:
    """`40,000`, `40.000`, `40000.50`, `45,5` and `60k` as exact decimals."""
    if "," in number and "." in number:
        number = number.replace(",", "")
    elif "," in number or "." in number:
        separator = "," if "," in number else "."
        groups = number.split(separator)
        if len(groups) > 2 or len(groups[-1]) == 3:
            number = "".join(groups)
        else:
            number = number.replace(",", ".")
    amount = Decimal(number)
    return amount * 1000 if thousands else amount


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
