"""Connector output becomes one trusted shape before anything stores, scores or shows it.

Connectors pass provider text through untouched, so every string here is hostile until cleaned:
titles, skills and categories become plain text, the description keeps a small safe subset of
HTML, and numbers that cannot be right (negative budgets, ratings of 11) are dropped rather than
guessed at. Only what makes a listing unusable (no id, no title, a link that is not http(s))
raises `NormalizationError`; the scanner reports that one listing and carries on.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from typing import Final

from gigforge.integrations.framework.capabilities import Budget, JobPosting
from gigforge.kit.sanitize import plain_text, safe_html
from gigforge.opportunities.types import Attribution, BudgetKind, ClientInfo, NormalizedPosting

TITLE_LIMIT: Final = 300
DESCRIPTION_LIMIT: Final = 20_000
SKILLS_LIMIT: Final = 50
# The column sizes of the opportunities table: an identifier cut short would name another job.
PLATFORM_LIMIT: Final = 40
EXTERNAL_ID_LIMIT: Final = 200
URL_LIMIT: Final = 1000
CATEGORY_LIMIT: Final = 200
# A billion in two-decimal currencies: beyond any real freelance budget, so a typo or overflow.
MAX_AMOUNT_MINOR: Final = 10**11

_SKILL_LENGTH = 100
_COUNTRY_LENGTH = 100
_MAX_COUNT = 10**9
# Sanitizing costs time in proportion to input. Five times the stored limit leaves room for the
# markup the sanitizer strips, and keeps a hostile megabyte from stalling the scan.
_DESCRIPTION_SOURCE_LIMIT = 5 * DESCRIPTION_LIMIT
_TRUNCATION_STEP = 256

_NEEDS_SANITIZER = re.compile(r"[<&\x00]")
# nh3 hands safe HTML back as it came (but for surrounding whitespace) unless the text holds one
# of these: markup or an entity, a character it escapes (">", no-break space), a carriage return
# (HTML parsing makes it a newline), NUL or a byte-order mark (both dropped).
_CHANGED_BY_SANITIZER = re.compile("[\x00\r&<>\xa0\ufeff]")
# Skills, categories and countries repeat from listing to listing; each is cleaned once.
_LABEL_CACHE_SIZE = 4096
_LABEL_CACHE_LENGTH = 1000
# No whitespace, controls, quotes, angle brackets or backslashes: browsers "repair" those.
_URL_CHARACTERS = r"\s\\<>\"\x00-\x1f\x7f"
_HTTP_URL = re.compile(rf"https?://[^/?#{_URL_CHARACTERS}]+(?:[/?#][^{_URL_CHARACTERS}]*)?", re.I)
_CURRENCY = re.compile(r"[A-Za-z]{3}")
# The sanitizer escapes every literal "<" and ">", so in its output this only ever matches tags.
_TAG = re.compile(r"<[^>]*>")

_KINDS: Final[Mapping[str, BudgetKind]] = {"fixed": "fixed", "hourly": "hourly", "salary": "salary"}
_TRUE_WORDS = frozenset({"true", "yes", "1", "verified"})
_FALSE_WORDS = frozenset({"false", "no", "0", "unverified"})
_NO_CLIENT = ClientInfo()


class NormalizationError(ValueError):
    """One listing cannot be used; the message is one line naming the field, safe to log."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalize(posting: JobPosting, *, attribution: Attribution | None = None) -> NormalizedPosting:
    """The listing cleaned and bounded; raises `NormalizationError` when it cannot be used."""
    # Identity first: a listing that will be refused should not cost a sanitizer pass.
    platform = _identifier("platform", posting.platform, PLATFORM_LIMIT)
    external_id = _identifier("external_id", posting.external_id, EXTERNAL_ID_LIMIT)
    url = _url(posting.url)
    title = _title(posting.title)
    description, description_text = _description(posting.description)
    kind, low, high, currency = _budget(posting.budget)
    return NormalizedPosting(
        platform=platform,
        external_id=external_id,
        url=url,
        title=title,
        description=description,
        description_text=description_text,
        skills=_skills(posting.skills),
        category=_optional_text(posting.category, CATEGORY_LIMIT),
        budget_kind=kind,
        budget_min_minor=low,
        budget_max_minor=high,
        currency=currency,
        posted_at=_utc(posting.posted_at),
        client=_client(posting.client),
        proposals_count=_count(posting.proposals_count),
        attribution=attribution,
        raw=posting.raw,
    )


def _identifier(field: str, value: object, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise NormalizationError(field, "is empty")
    if len(text) > limit:
        raise NormalizationError(field, f"is longer than {limit} characters")
    return text


def _url(value: object) -> str:
    url = value.strip() if isinstance(value, str) else ""
    if not _HTTP_URL.fullmatch(url):
        raise NormalizationError("url", "is not an http(s) link")
    if len(url) > URL_LIMIT:
        raise NormalizationError("url", f"is longer than {URL_LIMIT} characters")
    return url


def _title(value: object) -> str:
    title = _plain(value, TITLE_LIMIT) if isinstance(value, str) else ""
    if not title:
        raise NormalizationError("title", "is empty once markup is removed")
    return title


def _plain(value: str, limit: int) -> str:
    """Text without markup skips the sanitizer, which would hand it back unchanged but slowly."""
    markup = _NEEDS_SANITIZER.search(value) is not None
    text = plain_text(value) if markup else " ".join(value.split())
    return text[:limit].rstrip()


def _optional_text(value: object, limit: int) -> str | None:
    return (_label(value, limit) or None) if isinstance(value, str) else None


def _label(value: str, limit: int) -> str:
    """`_plain` for short, often repeated text; a long one is cleaned without the cache."""
    if len(value) > _LABEL_CACHE_LENGTH:
        return _plain(value, limit)
    return _cached_plain(value, limit)


@lru_cache(maxsize=_LABEL_CACHE_SIZE)
def _cached_plain(value: str, limit: int) -> str:
    return _plain(value, limit)


def _description(value: object) -> tuple[str, str]:
    """Safe HTML for display and its plain text for matching, from one sanitizer pass.

    The text is read off the sanitized HTML rather than sanitized a second time, which halves the
    cost on the hot path. Tags become spaces so "<li>Go</li><li>SQL</li>" does not read as the
    one word "GoSQL"; a tag inside a word splits it, which matching and dedupe shrug off.
    """
    if not isinstance(value, str) or not value:
        return "", ""
    source = value[:_DESCRIPTION_SOURCE_LIMIT]
    # Most listings are plain text, which the sanitizer would only strip, at a cost per character.
    unchanged = _CHANGED_BY_SANITIZER.search(source) is None
    cleaned = source.strip() if unchanged else safe_html(source)
    cut = DESCRIPTION_LIMIT
    while len(cleaned) > DESCRIPTION_LIMIT:
        # A cut can split a tag or an entity; sanitizing the cut repairs it (and may close tags).
        cleaned = safe_html(cleaned[:cut])
        cut -= _TRUNCATION_STEP
    text = html.unescape(_TAG.sub(" ", cleaned))
    return cleaned, " ".join(text.split())[:DESCRIPTION_LIMIT]


def _skills(values: object) -> tuple[str, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, tuple | list):
        return ()
    seen: dict[str, None] = {}
    # Bounded so a provider listing thousands of repeated tags cannot stall the scan.
    for value in islice(values, 4 * SKILLS_LIMIT):
        if not isinstance(value, str):
            continue
        skill = _label(value, _SKILL_LENGTH).lower()
        if skill and skill not in seen:
            seen[skill] = None
            if len(seen) == SKILLS_LIMIT:
                break
    return tuple(seen)


def _budget(budget: object) -> tuple[BudgetKind | None, int | None, int | None, str | None]:
    if not isinstance(budget, Budget):
        return None, None, None, None
    low = _positive_amount(budget.min_minor)
    high = _positive_amount(budget.max_minor)
    if low is not None and high is not None and low > high:
        low, high = high, low
    kind = _KINDS.get(budget.kind) if isinstance(budget.kind, str) else None
    return kind, low, high, _currency(budget.currency)


def _positive_amount(value: object) -> int | None:
    """Boards send 0 for "not stated", so only a positive amount says anything about pay."""
    amount = _amount(value)
    return amount if amount else None


def _currency(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip()
    return code.upper() if _CURRENCY.fullmatch(code) else None


def _utc(value: object) -> datetime | None:
    """Naive times are taken as UTC, the only zone a provider can mean without saying so."""
    if not isinstance(value, datetime):
        return None
    if value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None


def _client(value: object) -> ClientInfo:
    if not isinstance(value, Mapping) or not value:
        return _NO_CLIENT
    rating = _number(value.get("rating"))
    return ClientInfo(
        country=_optional_text(value.get("country"), _COUNTRY_LENGTH),
        payment_verified=_flag(value.get("payment_verified")),
        rating=None if rating is None else min(max(rating, 0.0), 5.0),
        hires=_count(value.get("hires")),
        total_spend_minor=_amount(value.get("total_spend_minor")),
        spend_currency=_currency(value.get("spend_currency")),
    )


def _number(value: object) -> float | None:
    """A finite number from whatever a provider's JSON held; anything else is unknown."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal | str):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None
    return None


def _whole(value: object, limit: int) -> int | None:
    if type(value) is int:  # the usual case, and exact beyond what a float holds
        return value if 0 <= value <= limit else None
    number = _number(value)
    if number is None or not number.is_integer() or not 0 <= number <= limit:
        return None
    return int(number)


def _count(value: object) -> int | None:
    return _whole(value, _MAX_COUNT)


def _amount(value: object) -> int | None:
    return _whole(value, MAX_AMOUNT_MINOR)


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return None
