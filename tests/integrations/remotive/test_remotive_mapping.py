"""Remotive jobs, as its API documents them, mapped to postings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gigforge.integrations.framework import BudgetKind
from gigforge.integrations.remotive.mapping import (
    MalformedItem,
    publication_date,
    salary_budget,
    to_posting,
)
from gigforge.integrations.remotive.sandbox import seed_jobs


def test_a_full_job_maps_every_field() -> None:
    posting = to_posting(seed_jobs()[0])

    assert posting.platform == "remotive"
    assert posting.external_id == "1950001"
    assert posting.url == (
        "https://remotive.com/remote-jobs/software-dev/senior-backend-engineer-1950001"
    )
    assert posting.title == "Senior Backend Engineer"
    assert posting.description == (
        "<p>Own our <em>ingestion</em> pipeline.</p><ul><li>Python</li></ul>"
    )
    assert posting.skills == ("python", "postgresql", "aws")
    assert posting.category == "Software Development"
    assert posting.posted_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert posting.client == {
        "name": "Señor Data",
        "logo_url": "https://remotive.com/job/1950001/logo",
    }
    assert posting.budget is not None
    assert posting.budget.kind is BudgetKind.salary
    assert (posting.budget.currency, posting.budget.min_minor, posting.budget.max_minor) == (
        "USD",
        9_000_000,
        12_000_000,
    )
    assert posting.raw["attribution"] == {
        "source": "Remotive",
        "url": posting.url,
        "notice": posting.raw["attribution"]["notice"],
    }
    assert "link back" in posting.raw["attribution"]["notice"]


def test_missing_optional_fields_leave_their_parts_empty() -> None:
    posting = to_posting(seed_jobs()[2])

    assert posting.title == "Support Agent"
    assert posting.description == ""
    assert posting.skills == ()
    assert posting.category is None
    assert posting.budget is None
    assert posting.posted_at is None
    assert posting.client == {}
    assert posting.raw["attribution"]["url"] == posting.url


def test_hostile_html_is_stripped_from_the_title_and_defused_in_the_description() -> None:
    posting = to_posting(seed_jobs()[1])

    assert posting.title == "Product Designer"
    assert posting.client == {"name": "Pixel & Co"}
    for needle in ("<script", "onerror", "onmouseover", "javascript:", "<form", "style="):
        assert needle not in posting.description
    assert "Design flows." in posting.description


@pytest.mark.parametrize(
    ("salary", "expected"),
    [
        ("$40,000 - $50,000", (BudgetKind.salary, "USD", 4_000_000, 5_000_000)),
        ("€60k-80k", (BudgetKind.salary, "EUR", 6_000_000, 8_000_000)),
        ("$90k\u2013120k", (BudgetKind.salary, "USD", 9_000_000, 12_000_000)),
        ("£45.000 \u2013 £55.000", (BudgetKind.salary, "GBP", 4_500_000, 5_500_000)),
        ("CA$90,000", (BudgetKind.salary, "CAD", 9_000_000, 9_000_000)),
        ("40-50 EUR per hour", (BudgetKind.hourly, "EUR", 4_000, 5_000)),
        ("$45/hour", (BudgetKind.hourly, "USD", 4_500, 4_500)),
        ("Up to $120k", (BudgetKind.salary, "USD", None, 12_000_000)),
        ("$100k + 10% equity", (BudgetKind.salary, "USD", 10_000_000, 10_000_000)),
        ("70000", (BudgetKind.salary, "USD", 7_000_000, 7_000_000)),
    ],
)
def test_salary_text_becomes_a_budget_in_minor_units(
    salary: str, expected: tuple[BudgetKind, str, int | None, int | None]
) -> None:
    budget = salary_budget(salary)

    assert budget is not None
    assert (budget.kind, budget.currency, budget.min_minor, budget.max_minor) == expected


@pytest.mark.parametrize("salary", [None, "", "Competitive", "DOE", "0", ["$1"], "$10.5555"])
def test_salary_without_a_usable_amount_is_no_budget(salary: Any) -> None:
    assert salary_budget(salary) is None


def test_a_zoned_or_garbled_publication_date_is_handled() -> None:
    assert publication_date("2026-01-05T12:00:00+02:00") == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert publication_date("last week") is None
    assert publication_date(None) is None


@pytest.mark.parametrize(
    ("job", "reason"),
    [
        ({"title": "No id", "url": "https://remotive.com/remote-jobs/x"}, "no id"),
        ({"id": 1, "url": "https://remotive.com/remote-jobs/x"}, "no title"),
        ({"id": 1, "title": "Dev", "url": "https://elsewhere.test/1"}, "link back"),
        ({"id": 1, "title": "Dev"}, "link back"),
    ],
)
def test_a_job_that_cannot_be_shown_as_the_terms_require_is_refused(
    job: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedItem, match=reason):
        to_posting(job)
