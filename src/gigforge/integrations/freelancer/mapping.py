"""Pure translations between Freelancer.com's wire shapes and Gigforge's models.

Every response is an envelope: `{"status": "success", "result": ..., "request_id": ...}` or
`{"status": "error", "message": ..., "error_code": ..., "request_id": ...}`; newer endpoints
nest the error as `{"error": {"code": ..., "detail": ...}}`
(https://developers.freelancer.com/docs/api-overview/errors-and-responses).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from gigforge.integrations.framework.capabilities import (
    Budget,
    BudgetKind,
    JobPosting,
    JobQuery,
    ProposalSubmission,
    SubmissionResult,
)
from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.framework.feeds import MalformedItem
from gigforge.integrations.freelancer.spec import SITE_URL, SPEC
from gigforge.kit.money import minor_to_major

NOT_AUTHENTICATED = "RestExceptionCodes.NOT_AUTHENTICATED"
ALREADY_BID = "ProjectExceptionCodes.ALREADY_BID_ON_PROJECT"
# A 2xx envelope that says "rate limited" carries no wait; a minute is one full window.
ENVELOPE_RATE_LIMIT_WAIT = 60.0

# Projections the search asks for (https://developers.freelancer.com/docs/projects/projects):
# the full text, the skills, and the owner's basic, country and employer-rating details.
SEARCH_PROJECTIONS = (
    ("compact", "true"),
    ("full_description", "true"),
    ("job_details", "true"),
    ("user_details", "true"),
    ("user_country_details", "true"),
    ("user_employer_reputation", "true"),
    ("sort_field", "time_updated"),
)


def search_params(query: JobQuery, *, offset: int, limit: int) -> list[tuple[str, str]]:
    """Query parameters for `GET /projects/0.1/projects/active/`.

    Skills and the budget floor are not sent: Freelancer filters skills by numeric job id
    (`jobs[]`) and JobQuery carries names, and its price filters do not state the currency
    they compare in. `matches` applies both to each page instead.
    """
    params = [("limit", str(limit)), ("offset", str(offset)), *SEARCH_PROJECTIONS]
    if query.keywords:
        params.append(("query", query.keywords))
    if query.posted_after is not None:
        params.append(("from_time", str(int(query.posted_after.timestamp()))))
    return params


def matches(posting: JobPosting, query: JobQuery) -> bool:
    """The filters Freelancer cannot apply for us; an unknown budget is not a reason to drop."""
    if query.skills:
        wanted = {skill.casefold() for skill in query.skills}
        if not wanted & {skill.casefold() for skill in posting.skills}:
            return False
    if query.min_budget_minor is not None and posting.budget is not None:
        top = posting.budget.max_minor or posting.budget.min_minor
        if top is not None and top < query.min_budget_minor:
            return False
    return True


def to_posting(
    raw: Mapping[str, Any],
    *,
    users: Mapping[str, Any] | None = None,
    cursor: str | None = None,
) -> JobPosting:
    """One project; `users` is the search's `result.users`, keyed by user id as a string.
    Raises `MalformedItem` for a project without an id, which could never be linked or bid on."""
    project_id = raw.get("id")
    if project_id is None or isinstance(project_id, bool) or not str(project_id).strip():
        raise MalformedItem(f"project {raw.get('title') or '(untitled)'!r} has no id")
    jobs = [job for job in raw.get("jobs") or () if isinstance(job, Mapping)]
    category = next(
        (
            job["category"]["name"]
            for job in jobs
            if isinstance(job.get("category"), Mapping) and job["category"].get("name")
        ),
        None,
    )
    bid_stats = raw.get("bid_stats") or {}
    return JobPosting(
        platform=SPEC.slug,
        external_id=str(project_id),
        url=project_url(raw),
        title=str(raw.get("title") or ""),
        description=str(raw.get("description") or raw.get("preview_description") or ""),
        skills=tuple(str(job["name"]) for job in jobs if job.get("name")),
        category=category,
        budget=_budget(raw),
        posted_at=_unix(raw.get("time_submitted") or raw.get("submitdate")),
        client=_client(raw.get("owner_id"), users or {}),
        proposals_count=_int_or_none(bid_stats.get("bid_count")),
        cursor=cursor,
        raw=raw,
    )


def project_url(raw: Mapping[str, Any]) -> str:
    """The public page. Without an `seo_url` (compact answers drop nulls) the project id is
    the only handle left, and Freelancer's `/projects/<id>` is the link we fall back to."""
    seo_url = str(raw.get("seo_url") or "").strip("/")
    return f"{SITE_URL}/projects/{seo_url or raw['id']}"


def _budget(raw: Mapping[str, Any]) -> Budget | None:
    budget = raw.get("budget")
    currency = (raw.get("currency") or {}).get("code")
    if not isinstance(budget, Mapping) or not currency:
        return None
    code = str(currency).upper()
    if len(code) != 3:  # not an ISO 4217 code: nothing to price in, and no reason to fail
        return None
    minimum = _minor(budget.get("minimum"), code)
    maximum = _minor(budget.get("maximum"), code)
    if minimum is None and maximum is None:
        return None
    kind = BudgetKind.hourly if str(raw.get("type", "")).lower() == "hourly" else BudgetKind.fixed
    return Budget(kind=kind, currency=code, min_minor=minimum, max_minor=maximum)


def _client(owner_id: Any, users: Mapping[str, Any]) -> dict[str, Any]:
    if owner_id is None:
        return {}
    owner = users.get(str(owner_id))
    client: dict[str, Any] = {"id": str(owner_id)}
    if not isinstance(owner, Mapping):
        return client
    for key in ("username", "display_name"):
        if owner.get(key):
            client[key] = owner[key]
    country = ((owner.get("location") or {}).get("country") or {}).get("name")
    if country:
        client["country"] = country
    history = (owner.get("employer_reputation") or {}).get("entire_history") or {}
    if history.get("overall") is not None:
        client["rating"] = history["overall"]
    if history.get("reviews") is not None:
        client["reviews"] = history["reviews"]
    payment_verified = (owner.get("status") or {}).get("payment_verified")
    if payment_verified is not None:
        client["payment_verified"] = payment_verified
    return client


def bid_body(
    proposal: ProposalSubmission, *, project_id: int, bidder_id: int, milestone_percentage: int
) -> dict[str, Any]:
    """`POST /projects/0.1/bids/` (https://developers.freelancer.com/docs/projects/bids):
    the amount is a number in the project's own currency, the period is in days."""
    return {
        "project_id": project_id,
        "bidder_id": bidder_id,
        "amount": float(minor_to_major(proposal.amount_minor, proposal.currency)),
        "period": proposal.period_days,
        "milestone_percentage": milestone_percentage,
        "description": proposal.cover_letter,
    }


def to_submission(bid: Mapping[str, Any], *, status: str) -> SubmissionResult:
    return SubmissionResult(external_id=str(bid["id"]), status=status, raw=bid)


def live_bid(bids: Any) -> Mapping[str, Any] | None:
    """The first bid in a `result.bids` list that has not been retracted."""
    for bid in bids or ():
        if isinstance(bid, Mapping) and not bid.get("retracted"):
            return bid
    return None


def as_mapping(value: Any) -> Mapping[str, Any]:
    """A `result` that should be an object; anything else reads as an empty one."""
    return value if isinstance(value, Mapping) else {}


def unwrap(response_body: bytes, *, status: int) -> Any:
    """The `result` of a success envelope; any other answer becomes the framework error."""
    try:
        body = json.loads(response_body)
    except (ValueError, UnicodeDecodeError):
        raise Transient(
            f"{SPEC.title} answered {status} without a JSON body",
            integration=SPEC.slug,
            status=status,
        ) from None
    if isinstance(body, Mapping) and body.get("status") == "success":
        return body.get("result")
    raise error_from(body, status=status)


def error_from(body: Any, *, status: int | None) -> IntegrationError:
    """The framework error for a Freelancer error envelope (or anything that is not one)."""
    message, code, request_id = _error_fields(body)
    detail = f"{SPEC.title}: {message}" if message else f"{SPEC.title} rejected the request"
    extras = {"error_code": code, "request_id": request_id}
    if status == 401 or code == NOT_AUTHENTICATED:
        return AuthExpired(detail, integration=SPEC.slug, status=status, **extras)
    if status == 429 or (code and "TOO_MANY_REQUESTS" in code.upper()):
        return RateLimited(
            detail, integration=SPEC.slug, retry_after=ENVELOPE_RATE_LIMIT_WAIT, **extras
        )
    return Permanent(detail, integration=SPEC.slug, status=status, **extras)


def error_from_excerpt(excerpt: str | None, *, status: int | None) -> IntegrationError:
    """The transport keeps the first bytes of a refused response; read the envelope in them."""
    try:
        body = json.loads(excerpt) if excerpt else None
    except ValueError:
        body = None
    return error_from(body, status=status)


def _error_fields(body: Any) -> tuple[str | None, str | None, str | None]:
    if not isinstance(body, Mapping):
        return None, None, None
    nested = as_mapping(body.get("error"))
    message = body.get("message") or nested.get("detail")
    code = body.get("error_code") or nested.get("code")
    request_id = body.get("request_id")
    return (
        str(message) if message else None,
        str(code) if code else None,
        str(request_id) if request_id else None,
    )


def _minor(value: Any, currency: str) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if type(value) is int:  # the usual case, exact without Decimal
        return value * _minor_units(currency)
    try:
        major = Decimal(str(value))
    except InvalidOperation:
        return None
    unit = minor_to_major(1, currency)
    return int((major / unit).to_integral_value(rounding=ROUND_HALF_UP))


@lru_cache(maxsize=64)
def _minor_units(currency: str) -> int:
    """Minor units in one major unit (100 for USD, 1 for JPY)."""
    return int(1 / minor_to_major(1, currency))


def _unix(value: Any) -> datetime | None:
    """A Unix time, or None when absent or outside what a date can hold."""
    seconds = _int_or_none(value)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
