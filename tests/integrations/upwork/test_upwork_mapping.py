"""Pure mapping from Upwork's documented payload shapes, including sparse ones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gigforge.integrations.framework import (
    AuthExpired,
    Budget,
    BudgetKind,
    JobQuery,
    Permanent,
    RateLimited,
)
from gigforge.integrations.upwork import SPEC, UpworkConfig
from gigforge.integrations.upwork.mapping import graphql_error, parse_datetime, to_posting
from gigforge.integrations.upwork.queries import search_variables

FULL_NODE = {
    "id": "1780000000000000001",
    "ciphertext": "~01abcdef0123456789",
    "title": "FastAPI backend",
    "description": "Build endpoints.",
    "createdDateTime": "2026-03-01T09:30:00.000Z",
    "publishedDateTime": "2026-03-01T10:00:00.000Z",
    "category": "Web, Mobile & Software Dev",
    "totalApplicants": 12,
    "skills": [{"name": "python", "prettyName": "Python"}, {"name": "fastapi"}],
    "amount": {"rawValue": "0.0", "currency": "USD"},
    "hourlyBudgetMin": {"rawValue": "40.0", "currency": "USD"},
    "hourlyBudgetMax": {"rawValue": "70.5", "currency": "USD"},
    "client": {
        "totalHires": 14,
        "totalPostedJobs": 17,
        "totalReviews": 13,
        "totalFeedback": 4.9,
        "verificationStatus": "VERIFIED",
        "totalSpent": {"rawValue": "28450.5", "currency": "USD"},
        "location": {"country": "United States"},
    },
}
SPARSE_NODE = {"id": "1780000000000000002", "ciphertext": "~01sparse", "title": "Sparse job"}


def test_a_full_node_maps_every_documented_field() -> None:
    posting = to_posting(FULL_NODE, cursor="3")

    assert posting.platform == "upwork"
    assert posting.external_id == "1780000000000000001"
    assert posting.url == "https://www.upwork.com/jobs/~01abcdef0123456789"
    assert posting.skills == ("Python", "fastapi")
    assert posting.category == "Web, Mobile & Software Dev"
    assert posting.budget == Budget(
        kind=BudgetKind.hourly, currency="USD", min_minor=4000, max_minor=7050
    )
    assert posting.posted_at == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert posting.proposals_count == 12
    assert posting.cursor == "3"
    assert posting.raw == FULL_NODE
    assert posting.client == {
        "country": "United States",
        "payment_verified": True,
        "total_hires": 14,
        "total_posted_jobs": 17,
        "total_reviews": 13,
        "feedback_score": 4.9,
        "total_spent_minor": 2845050,
        "total_spent_currency": "USD",
    }


def test_a_node_with_only_its_identity_maps_with_nothing_invented() -> None:
    posting = to_posting(SPARSE_NODE)

    assert posting.description == ""
    assert posting.skills == ()
    assert posting.category is None
    assert posting.budget is None
    assert posting.posted_at is None
    assert posting.client == {}
    assert posting.proposals_count is None
    assert posting.cursor is None


def test_a_fixed_price_amount_is_a_fixed_budget() -> None:
    posting = to_posting({**SPARSE_NODE, "amount": {"rawValue": "250", "currency": "EUR"}})

    assert posting.budget == Budget(
        kind=BudgetKind.fixed, currency="EUR", min_minor=25000, max_minor=25000
    )


def test_an_hourly_range_open_at_the_top_keeps_only_its_floor() -> None:
    node = {**SPARSE_NODE, "hourlyBudgetMin": {"rawValue": "35", "currency": "USD"}}

    assert to_posting(node).budget == Budget(
        kind=BudgetKind.hourly, currency="USD", min_minor=3500, max_minor=None
    )


def test_a_zero_amount_without_hourly_range_is_no_budget() -> None:
    node = {**SPARSE_NODE, "amount": {"rawValue": "0", "currency": "USD"}}

    assert to_posting(node).budget is None


def test_created_time_stands_in_when_the_published_time_is_missing() -> None:
    node = {**SPARSE_NODE, "createdDateTime": "2026-03-01T09:30:00+0000"}

    assert to_posting(node).posted_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_client_with_private_spend_and_no_location_keeps_what_it_shows() -> None:
    node = {
        **SPARSE_NODE,
        "client": {
            "totalHires": 0,
            "verificationStatus": "NOT_VERIFIED",
            "totalSpent": None,
            "location": None,
        },
    }

    assert to_posting(node).client == {"payment_verified": False, "total_hires": 0}


def test_a_node_without_ciphertext_is_refused_because_it_has_no_link() -> None:
    with pytest.raises(ValueError, match="ciphertext"):
        to_posting({"id": "1", "title": "No link"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T12:00:00+02:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
    ],
)
def test_upwork_datetimes_become_utc(value: str | None, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


def test_a_response_without_errors_is_no_error() -> None:
    assert graphql_error({"data": {"user": {"id": "1"}}}) is None


def test_a_validation_error_is_permanent_with_upworks_message() -> None:
    error = graphql_error(
        {
            "errors": [
                {
                    "message": "Validation error of type MissingFieldArgument",
                    "locations": [{"line": 2, "column": 3}],
                    "extensions": {"classification": "ValidationError"},
                }
            ]
        }
    )

    assert isinstance(error, Permanent)
    assert error.detail == "Upwork: Validation error of type MissingFieldArgument"
    assert error.extensions["codes"] == ["ValidationError"]


def test_a_missing_scope_is_auth_expired() -> None:
    error = graphql_error(
        {
            "errors": [
                {
                    "message": "The client or authentication token doesn't have enough oauth2 "
                    "permissions/scopes to access: [Money.currency, Money.rawValue].",
                    "extensions": {"classification": "ExecutionAborted"},
                }
            ]
        }
    )

    assert isinstance(error, AuthExpired)


@pytest.mark.parametrize("code", ["UNAUTHENTICATED", "FORBIDDEN", "Unauthorized"])
def test_unauthenticated_and_forbidden_codes_are_auth_expired(code: str) -> None:
    error = graphql_error({"errors": [{"message": "no", "extensions": {"code": code}}]})

    assert isinstance(error, AuthExpired)


def test_a_throttling_code_waits_the_documented_minute_unless_told_otherwise() -> None:
    payload = {"errors": [{"message": "slow down", "extensions": {"code": "THROTTLED"}}]}

    error = graphql_error(payload)
    told = graphql_error(payload, retry_after=12)

    assert isinstance(error, RateLimited)
    assert error.retry_after == 60
    assert isinstance(told, RateLimited)
    assert told.retry_after == 12


def test_search_variables_translate_the_query_into_the_documented_filter() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    query = JobQuery(
        keywords="python api",
        skills=("FastAPI",),
        posted_after=datetime(2026, 3, 8, 13, tzinfo=UTC),
        limit=20,
    )

    assert search_variables(query, after="40", now=now) == {
        "marketPlaceJobFilter": {
            "pagination_eq": {"first": 20, "after": "40"},
            "searchExpression_eq": "python api",
            "skillExpression_eq": "FastAPI",
            "daysPosted_eq": 2,
        },
        "searchType": "USER_JOBS_SEARCH",
        "sortAttributes": [{"field": "RECENCY"}],
    }


def test_search_pages_are_capped_at_fifty_postings() -> None:
    variables = search_variables(JobQuery(limit=500), after=None, now=datetime.now(UTC))

    assert variables["marketPlaceJobFilter"] == {"pagination_eq": {"first": 50}}


def test_the_connect_form_hides_the_secret_and_the_spec_is_rebased_whole() -> None:
    schema = SPEC.config_schema()
    rebased = SPEC.rebased("http://sandbox")

    assert schema["properties"]["client_secret"]["writeOnly"] is True
    assert schema["required"] == ["client_id", "client_secret"]
    assert UpworkConfig.model_json_schema()["properties"]["tenant_id"]["default"] is None
    assert rebased.base_url == "http://sandbox"
    assert rebased.oauth is not None
    assert rebased.oauth.authorize_url == "http://sandbox/ab/account-security/oauth2/authorize"
    assert rebased.oauth.token_url == "http://sandbox/api/v3/oauth2/token"
    assert [str(limit) for limit in SPEC.parsed_limits()] == [
        "10 per 1 second",
        "40000 per 1 day",
    ]
