"""Pure translations between Upwork's GraphQL payloads and Gigforge's models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gigforge.integrations.framework.capabilities import Budget, BudgetKind, JobPosting
from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
)
from gigforge.integrations.upwork.spec import JOB_URL, SPEC
from gigforge.kit.money import minor_to_major

# Upwork lifts a rate-limit block "within a minute from the last rate-limited request"
# (https://support.upwork.com/hc/en-us/articles/115015933428).
RATE_LIMIT_WAIT_SECONDS = 60.0

# Upwork's documented error extension is `classification` (e.g. `ValidationError`,
# https://support.upwork.com/hc/en-us/articles/115015857627); gateways in front of it also use
# the common `code` extension. Both are matched, case-insensitively.
_AUTH_CODES = frozenset({"unauthenticated", "unauthorized", "forbidden", "401", "403"})
_RATE_CODES = frozenset({"throttled", "too_many_requests", "rate_limited", "ratelimited", "429"})
# A key without the scope a field needs answers 200 with this message and
# `classification: ExecutionAborted`; the user has to fix the key and reconnect.
_MISSING_SCOPE = "permissions/scopes"


def to_posting(node: Mapping[str, Any], *, cursor: str | None = None) -> JobPosting:
    """One `MarketplaceJobPostingSearchResult` node as a `JobPosting`.

    Raises `ValueError` for a node without the id, ciphertext or title a posting cannot do
    without: the ciphertext is what the job's public URL (and so the hand-off) is built from.
    """
    external_id, ciphertext, title = node.get("id"), node.get("ciphertext"), node.get("title")
    if not external_id or not ciphertext or not title:
        raise ValueError(f"Upwork job posting {external_id!r} lacks its id, ciphertext or title")
    skills = tuple(
        str(skill.get("prettyName") or skill.get("name"))
        for skill in node.get("skills") or ()
        if skill and (skill.get("prettyName") or skill.get("name"))
    )
    applicants = node.get("totalApplicants")
    return JobPosting(
        platform=SPEC.slug,
        external_id=str(external_id),
        url=JOB_URL.format(ciphertext=ciphertext),
        title=str(title),
        description=str(node.get("description") or ""),
        skills=skills,
        category=node.get("category") or None,
        budget=to_budget(node),
        posted_at=parse_datetime(node.get("publishedDateTime"))
        or parse_datetime(node.get("createdDateTime")),
        client=to_client(node.get("client")),
        proposals_count=int(applicants) if applicants is not None else None,
        cursor=cursor,
        raw=dict(node),
    )


def to_budget(node: Mapping[str, Any]) -> Budget | None:
    """Hourly when the posting names an hourly range, fixed when it names an amount.

    Upwork reports an `amount` of zero on hourly postings, so a zero amount is no budget.
    """
    low, low_currency = money(node.get("hourlyBudgetMin"))
    high, high_currency = money(node.get("hourlyBudgetMax"))
    if low is not None or high is not None:
        currency = low_currency or high_currency
        return Budget(
            kind=BudgetKind.hourly,
            currency=currency,
            min_minor=to_minor(low, currency) if low is not None else None,
            max_minor=to_minor(high, currency) if high is not None else None,
        )
    amount, currency = money(node.get("amount"))
    if amount is None or amount <= 0:
        return None
    minor = to_minor(amount, currency)
    return Budget(kind=BudgetKind.fixed, currency=currency, min_minor=minor, max_minor=minor)


def to_client(client: Mapping[str, Any] | None) -> dict[str, Any]:
    """The client facts Upwork shows next to a posting, under Gigforge's names; absent stays
    absent rather than becoming zero, because "no hires yet" and "not disclosed" differ."""
    if not client:
        return {}
    facts: dict[str, Any] = {}
    location = client.get("location") or {}
    if location.get("country"):
        facts["country"] = location["country"]
    status = client.get("verificationStatus")
    if status:
        facts["payment_verified"] = str(status).upper() == "VERIFIED"
    for source, target in (
        ("totalHires", "total_hires"),
        ("totalPostedJobs", "total_posted_jobs"),
        ("totalReviews", "total_reviews"),
    ):
        if client.get(source) is not None:
            facts[target] = int(client[source])
    if client.get("totalFeedback") is not None:
        facts["feedback_score"] = float(client["totalFeedback"])
    spent, currency = money(client.get("totalSpent"))
    if spent is not None:
        facts["total_spent_minor"] = to_minor(spent, currency)
        facts["total_spent_currency"] = currency
    return facts


def money(value: Mapping[str, Any] | None) -> tuple[Decimal | None, str]:
    """An Upwork `Money` (`rawValue` is a decimal string) as an amount and its currency."""
    if not value or value.get("rawValue") in (None, ""):
        return None, "USD"
    currency = str(value.get("currency") or "USD").upper()
    try:
        return Decimal(str(value["rawValue"])), currency
    except InvalidOperation:
        return None, currency


def to_minor(amount: Decimal, currency: str) -> int:
    places = -int(minor_to_major(1, currency).as_tuple().exponent)
    return int(amount.scaleb(places).to_integral_value())


def parse_datetime(value: Any) -> datetime | None:
    """Upwork's `DateTime` is ISO 8601; a value without an offset is UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def graphql_error(
    payload: Mapping[str, Any], *, retry_after: float | None = None
) -> IntegrationError | None:
    """The framework error for a GraphQL response that carries `errors`, or None.

    Upwork answers most failures with HTTP 200 and an `errors` array
    (https://support.upwork.com/hc/en-us/articles/115015857627), so the transport sees a
    success and the decision falls to the connector. `retry_after` is the response's
    Retry-After, when it sent one.
    """
    errors = [error for error in payload.get("errors") or () if isinstance(error, Mapping)]
    if not errors:
        return None
    messages = "; ".join(str(error.get("message") or "unknown error") for error in errors)
    codes = {code for error in errors for code in _codes(error)}
    matched = {code.lower() for code in codes}
    detail = f"Upwork: {messages}"
    if matched & _AUTH_CODES or _MISSING_SCOPE in messages:
        return AuthExpired(detail, integration=SPEC.slug, status=200)
    if matched & _RATE_CODES:
        return RateLimited(
            detail,
            integration=SPEC.slug,
            retry_after=RATE_LIMIT_WAIT_SECONDS if retry_after is None else retry_after,
            status=200,
        )
    return Permanent(detail, integration=SPEC.slug, status=200, codes=sorted(codes))


def _codes(error: Mapping[str, Any]) -> list[str]:
    extensions = error.get("extensions")
    if not isinstance(extensions, Mapping):
        return []
    return [
        str(extensions[key])
        for key in ("code", "classification")
        if extensions.get(key) is not None
    ]
