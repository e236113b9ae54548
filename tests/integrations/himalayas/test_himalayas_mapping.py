"""Himalayas jobs, as its data dictionary documents them, mapped to postings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gigforge.integrations.framework import BudgetKind
from gigforge.integrations.himalayas.mapping import (
    MalformedItem,
    salary_budget,
    to_posting,
    unix_time,
)
from gigforge.integrations.himalayas.sandbox import seed_jobs

GUID = "https://himalayas.app/companies/zurichlabs/jobs/senior-python-developer"


def test_a_full_job_maps_every_field() -> None:
    posting = to_posting(seed_jobs()[0])

    assert posting.platform == "himalayas"
    assert posting.external_id == GUID
    assert posting.url == GUID
    assert posting.title == "Senior Python Developer"
    assert posting.description == "<p>Build <strong>APIs</strong>.</p><ul><li>Python</li></ul>"
    assert posting.skills == ("Python", "Django", "Backend")
    assert posting.category == "Engineering"
    assert posting.posted_at == datetime(2026, 1, 5, tzinfo=UTC)
    assert posting.client == {
        "name": "Zürich Labs",
        "slug": "zurichlabs",
        "logo_url": "https://cdn-images.himalayas.app/zurichlabs.png",
    }
    assert posting.budget is not None
    assert (
        posting.budget.kind,
        posting.budget.currency,
        posting.budget.min_minor,
        posting.budget.max_minor,
    ) == (BudgetKind.salary, "EUR", 11_000_000, 14_000_000)
    assert posting.raw["attribution"] == {
        "source": "Himalayas",
        "url": GUID,
        "notice": posting.raw["attribution"]["notice"],
    }


def test_missing_optional_fields_leave_their_parts_empty() -> None:
    posting = to_posting(seed_jobs()[2])

    assert posting.title == "Support Specialist"
    assert posting.description == ""
    assert posting.skills == ()
    assert posting.category is None
    assert posting.budget is None
    assert posting.client == {}
    assert posting.posted_at == datetime(2026, 1, 3, tzinfo=UTC)
    assert posting.raw["attribution"]["url"] == posting.url


def test_the_excerpt_stands_in_for_a_missing_description() -> None:
    posting = to_posting({**seed_jobs()[2], "excerpt": "Short <b>summary</b>"})

    assert posting.description == "Short <b>summary</b>"


def test_hostile_html_is_stripped_from_the_title_and_defused_in_the_description() -> None:
    posting = to_posting(seed_jobs()[1])

    assert posting.title == "Data Engineer"
    assert posting.client["name"] == "Evil Corp"
    for needle in ("<script", "onclick", "onerror", "javascript:", "<object", "alert(3)"):
        assert needle not in posting.description
    assert "Pipelines." in posting.description


def test_an_hourly_salary_period_makes_an_hourly_budget() -> None:
    budget = to_posting(seed_jobs()[3]).budget

    assert budget is not None
    assert (budget.kind, budget.min_minor, budget.max_minor) == (BudgetKind.hourly, 4_500, 6_000)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"minSalary": None, "maxSalary": None, "currency": "USD"}, None),
        ({"minSalary": 50000, "maxSalary": 60000}, None),
        ({"minSalary": 50000, "currency": "US dollars"}, None),
        ({"minSalary": "50000", "currency": "USD"}, None),
        ({"minSalary": 0.001, "currency": "USD"}, None),
        ({"minSalary": 90000, "currency": "usd"}, ("USD", 9_000_000, None)),
        (
            {"minSalary": 90000, "maxSalary": 80000, "currency": "GBP"},
            ("GBP", 8_000_000, 9_000_000),
        ),
    ],
)
def test_salary_needs_a_currency_code_and_a_number(
    fields: dict[str, Any], expected: tuple[str, int | None, int | None] | None
) -> None:
    budget = salary_budget(fields)

    if expected is None:
        assert budget is None
    else:
        assert budget is not None
        assert (budget.currency, budget.min_minor, budget.max_minor) == expected


def test_pub_date_is_read_in_milliseconds_or_seconds() -> None:
    assert unix_time(1_767_571_200_000) == datetime(2026, 1, 5, tzinfo=UTC)
    assert unix_time(1_767_571_200) == datetime(2026, 1, 5, tzinfo=UTC)
    assert unix_time(1e300) is None
    assert unix_time("yesterday") is None
    assert unix_time(True) is None


def test_the_application_link_is_the_link_back_when_the_guid_is_not_a_url() -> None:
    job = {**seed_jobs()[4], "guid": "job-4"}

    posting = to_posting(job)

    assert posting.external_id == "job-4"
    assert posting.url == "https://himalayas.app/companies/initech/jobs/devops-engineer"


@pytest.mark.parametrize(
    ("job", "reason"),
    [
        ({"title": "No guid"}, "no guid"),
        ({"guid": GUID, "title": "<script>only</script>"}, "no title"),
        ({"guid": "job-1", "title": "Dev"}, "no URL to link back to"),
    ],
)
def test_a_job_that_cannot_be_shown_as_the_terms_require_is_refused(
    job: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedItem, match=reason):
        to_posting(job)
