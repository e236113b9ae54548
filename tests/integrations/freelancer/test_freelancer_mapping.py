"""Mapping Freelancer's documented payload shapes, including ones with optional fields missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gigforge.integrations.framework import (
    AuthExpired,
    Budget,
    BudgetKind,
    JobPosting,
    JobQuery,
    Permanent,
    ProposalSubmission,
    RateLimited,
    Transient,
)
from gigforge.integrations.freelancer.mapping import (
    bid_body,
    error_from,
    error_from_excerpt,
    live_bid,
    matches,
    search_params,
    to_posting,
    unwrap,
)

# A search result item as the docs show it with full_description and job_details.
PROJECT = {
    "id": 37654321,
    "owner_id": 901,
    "title": "Migrate a Django app to FastAPI",
    "seo_url": "python/migrate-django-app-fastapi",
    "currency": {"id": 1, "code": "USD", "sign": "$", "exchange_rate": 1},
    "description": "Full text of the brief.",
    "preview_description": "Full text",
    "type": "fixed",
    "budget": {"minimum": 250.0, "maximum": 750.0},
    "jobs": [
        {"id": 13, "name": "Python", "category": {"id": 1, "name": "Websites, IT & Software"}},
        {"id": 2317, "name": "FastAPI"},
    ],
    "bid_stats": {"bid_count": 12, "bid_avg": 480.5},
    "time_submitted": 1_767_222_000,
}
USERS = {
    "901": {
        "id": 901,
        "username": "acme_corp",
        "display_name": "Acme Corp",
        "location": {"country": {"name": "Canada"}},
        "employer_reputation": {"entire_history": {"overall": 4.8, "reviews": 20}},
        "status": {"payment_verified": True},
    }
}


def posting_with(budget: Budget | None = None, skills: tuple[str, ...] = ()) -> JobPosting:
    return JobPosting(
        platform="freelancer", external_id="1", url="u", title="t", budget=budget, skills=skills
    )


def test_a_full_project_maps_every_field() -> None:
    posting = to_posting(PROJECT, users=USERS, cursor="8")

    assert posting.external_id == "37654321"
    assert posting.url == "https://www.freelancer.com/projects/python/migrate-django-app-fastapi"
    assert posting.description == "Full text of the brief."
    assert posting.skills == ("Python", "FastAPI")
    assert posting.category == "Websites, IT & Software"
    assert posting.budget == Budget(
        kind=BudgetKind.fixed, currency="USD", min_minor=25_000, max_minor=75_000
    )
    assert posting.posted_at == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert posting.proposals_count == 12
    assert posting.client == {
        "id": "901",
        "username": "acme_corp",
        "display_name": "Acme Corp",
        "country": "Canada",
        "rating": 4.8,
        "reviews": 20,
        "payment_verified": True,
    }
    assert posting.cursor == "8"
    assert posting.raw["bid_stats"]["bid_avg"] == 480.5


def test_a_compact_project_without_optional_fields_still_maps() -> None:
    posting = to_posting({"id": 5, "title": "Quick fix", "preview_description": "Short"})

    assert posting.url == "https://www.freelancer.com/projects/5"
    assert posting.description == "Short"
    assert posting.skills == ()
    assert posting.category is None
    assert posting.budget is None
    assert posting.posted_at is None
    assert posting.client == {}
    assert posting.proposals_count is None


def test_an_owner_without_user_details_is_known_by_id_only() -> None:
    assert to_posting(PROJECT).client == {"id": "901"}
    sparse = {"901": {"id": 901, "username": "acme_corp"}}
    assert to_posting(PROJECT, users=sparse).client == {"id": "901", "username": "acme_corp"}


@pytest.mark.parametrize(
    ("project", "expected"),
    [
        (
            {"type": "hourly", "currency": {"code": "EUR"}, "budget": {"minimum": 25}},
            Budget(kind=BudgetKind.hourly, currency="EUR", min_minor=2500, max_minor=None),
        ),
        (
            {"type": "fixed", "currency": {"code": "jpy"}, "budget": {"minimum": 30000}},
            Budget(kind=BudgetKind.fixed, currency="JPY", min_minor=30000, max_minor=None),
        ),
        (
            {"currency": {"code": "USD"}, "budget": {"minimum": 10.005, "maximum": 19.99}},
            Budget(kind=BudgetKind.fixed, currency="USD", min_minor=1001, max_minor=1999),
        ),
        ({"budget": {"minimum": 25}}, None),
        ({"currency": {"code": "USD"}, "budget": {}}, None),
        ({"currency": {"code": "US"}, "budget": {"minimum": 25}}, None),
    ],
)
def test_budgets_follow_type_currency_and_minor_units(
    project: dict[str, object], expected: Budget | None
) -> None:
    assert to_posting({"id": 1, **project}).budget == expected


def test_search_params_send_keywords_time_and_projections_but_not_skills() -> None:
    query = JobQuery(
        keywords="fastapi",
        skills=("Python",),
        posted_after=datetime(2026, 1, 1, tzinfo=UTC),
        min_budget_minor=10_000,
    )

    params = dict(search_params(query, offset=20, limit=10))

    assert params["query"] == "fastapi"
    assert params["from_time"] == "1767225600"
    assert (params["offset"], params["limit"]) == ("20", "10")
    assert params["full_description"] == params["job_details"] == params["user_details"] == "true"
    assert not {"jobs[]", "min_price", "min_avg_price"} & params.keys()


def test_matches_filters_skills_without_case_and_keeps_unknown_budgets() -> None:
    usd = Budget(kind=BudgetKind.fixed, currency="USD", min_minor=5_000, max_minor=20_000)
    assert matches(posting_with(skills=("FastAPI",)), JobQuery(skills=("fastapi",)))
    assert not matches(posting_with(skills=("PHP",)), JobQuery(skills=("fastapi",)))
    assert matches(posting_with(usd), JobQuery(min_budget_minor=20_000))
    assert not matches(posting_with(usd), JobQuery(min_budget_minor=20_001))
    assert matches(posting_with(None), JobQuery(min_budget_minor=20_001))


def test_bid_body_converts_minor_units_to_the_project_currency_amount() -> None:
    usd = ProposalSubmission(
        external_job_id="1",
        cover_letter="Hello",
        amount_minor=120_050,
        currency="USD",
        period_days=7,
        idempotency_key="key-00001",
    )
    jpy = usd.model_copy(update={"amount_minor": 50_000, "currency": "JPY"})

    body = bid_body(usd, project_id=1, bidder_id=2, milestone_percentage=50)

    assert body == {
        "project_id": 1,
        "bidder_id": 2,
        "amount": 1200.5,
        "period": 7,
        "milestone_percentage": 50,
        "description": "Hello",
    }
    assert bid_body(jpy, project_id=1, bidder_id=2, milestone_percentage=50)["amount"] == 50000.0


def test_live_bid_skips_retracted_bids() -> None:
    bids = [{"id": 1, "retracted": True}, {"id": 2, "retracted": False}]
    assert live_bid(bids) == {"id": 2, "retracted": False}
    assert live_bid([{"id": 1, "retracted": True}]) is None
    assert live_bid(None) is None


def test_unwrap_returns_the_result_of_a_success_envelope() -> None:
    body = json.dumps({"status": "success", "result": {"id": 7}, "request_id": "r1"}).encode()
    assert unwrap(body, status=200) == {"id": 7}


def test_an_error_envelope_inside_a_2xx_becomes_the_matching_framework_error() -> None:
    def envelope(code: str) -> bytes:
        return json.dumps(
            {"status": "error", "message": "Nope", "error_code": code, "request_id": "r2"}
        ).encode()

    with pytest.raises(Permanent, match=r"Freelancer\.com: Nope") as caught:
        unwrap(envelope("ProjectExceptionCodes.PROJECT_NOT_ACTIVE"), status=200)
    assert caught.value.extensions["request_id"] == "r2"
    with pytest.raises(AuthExpired):
        unwrap(envelope("RestExceptionCodes.NOT_AUTHENTICATED"), status=200)
    with pytest.raises(RateLimited):
        unwrap(envelope("TOO_MANY_REQUESTS"), status=200)


def test_a_2xx_that_is_not_json_is_transient() -> None:
    with pytest.raises(Transient):
        unwrap(b"<html>maintenance</html>", status=200)


def test_error_from_reads_the_nested_error_shape_too() -> None:
    body = {"status": "error", "error": {"code": "BID_TOO_LOW", "detail": "Amount too low"}}

    error = error_from(body, status=400)

    assert isinstance(error, Permanent)
    assert error.detail == "Freelancer.com: Amount too low"
    assert error.extensions["error_code"] == "BID_TOO_LOW"


def test_a_truncated_excerpt_still_yields_a_permanent_error() -> None:
    error = error_from_excerpt('{"status": "error", "message": "cut of', status=422)

    assert isinstance(error, Permanent)
    assert error.upstream_status == 422
    assert error.detail == "Freelancer.com rejected the request"
