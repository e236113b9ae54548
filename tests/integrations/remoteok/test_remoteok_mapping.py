"""Remote OK elements, as the feed documents them, mapped to postings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gigforge.integrations.framework import BudgetKind
from gigforge.integrations.remoteok.mapping import (
    DEFAULT_NOTICE,
    MalformedItem,
    is_legal_notice,
    legal_notice,
    to_posting,
)
from gigforge.integrations.remoteok.sandbox import LEGAL_NOTICE, seed_jobs


def job(**overrides: Any) -> dict[str, Any]:
    values = dict(seed_jobs()[0])
    values.update(overrides)
    return values


def test_a_full_element_maps_every_field() -> None:
    posting = to_posting(job())

    assert posting.platform == "remoteok"
    assert posting.external_id == "1130001"
    assert posting.url == (
        "https://remoteok.com/remote-jobs/remote-senior-python-engineer-northwind-1130001"
    )
    assert posting.title == "Senior Python Engineer"
    assert posting.description == "<p>Build our <strong>booking API</strong> in Django.</p>"
    assert posting.skills == ("python", "django", "backend")
    assert posting.posted_at == datetime(2026, 1, 5, tzinfo=UTC)
    assert posting.client == {
        "name": "Northwind Café",
        "logo_url": "https://remoteok.com/assets/img/jobs/northwind.png",
    }
    assert posting.budget is not None
    assert posting.budget.kind is BudgetKind.salary
    assert (posting.budget.currency, posting.budget.min_minor, posting.budget.max_minor) == (
        "USD",
        9_000_000,
        13_000_000,
    )


def test_missing_optional_fields_leave_their_parts_empty() -> None:
    posting = to_posting({"id": 7, "slug": "remote-support-7", "position": "Support"})

    assert posting.url == "https://remoteok.com/remote-jobs/remote-support-7"
    assert posting.description == ""
    assert posting.skills == ()
    assert posting.budget is None
    assert posting.posted_at is None
    assert posting.client == {}


def test_hostile_html_is_stripped_from_the_title_and_defused_in_the_description() -> None:
    posting = to_posting(seed_jobs()[1])

    assert posting.title == "Frontend Developer"
    assert posting.client == {"name": "Evil Corp"}
    assert posting.skills == ("react", "javascript")
    for needle in ("<script", "onclick", "javascript:", "<iframe", "alert(3)"):
        assert needle not in posting.description
    assert "Ship our dashboard." in posting.description


def test_every_posting_carries_remote_ok_attribution_with_its_own_link() -> None:
    posting = to_posting(job(), notice="the feed's notice")

    assert posting.raw["attribution"] == {
        "source": "Remote OK",
        "url": posting.url,
        "notice": "the feed's notice",
    }
    assert posting.raw["id"] == "1130001"


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 0, None),
        (None, None, None),
        ("not a number", 0, None),
        (70000, 0, (7_000_000, None)),
        (0, 50000, (None, 5_000_000)),
        (120000, 90000, (9_000_000, 12_000_000)),
    ],
)
def test_salary_zero_means_unknown_and_bounds_are_ordered(
    low: Any, high: Any, expected: tuple[int | None, int | None] | None
) -> None:
    budget = to_posting(job(salary_min=low, salary_max=high)).budget

    if expected is None:
        assert budget is None
    else:
        assert budget is not None
        assert (budget.min_minor, budget.max_minor) == expected


def test_the_iso_date_is_used_when_the_epoch_is_missing() -> None:
    posting = to_posting(job(epoch=None, date="2026-01-05T03:00:00+03:00"))
    naive = to_posting(job(epoch=None, date="2026-01-05T03:00:00"))
    garbled = to_posting(job(epoch=None, date="yesterday"))

    assert posting.posted_at == datetime(2026, 1, 5, tzinfo=UTC)
    assert naive.posted_at == datetime(2026, 1, 5, 3, tzinfo=UTC)
    assert garbled.posted_at is None


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        ({"position": "No id", "url": "https://remoteok.com/remote-jobs/x"}, "no id"),
        ({"id": "9", "url": "https://remoteok.com/remote-jobs/x"}, "no position"),
        ({"id": "9", "position": "Dev", "url": "https://elsewhere.test/9"}, "link back"),
        ({"id": "9", "position": "<script>x</script>", "slug": "s"}, "no position"),
    ],
)
def test_an_element_that_cannot_be_shown_as_the_terms_require_is_refused(
    element: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedItem, match=reason):
        to_posting(element)


def test_the_legal_notice_is_recognised_and_its_text_kept() -> None:
    assert is_legal_notice(LEGAL_NOTICE)
    assert not is_legal_notice(job())
    assert legal_notice([LEGAL_NOTICE, job()]) == LEGAL_NOTICE["legal"]
    assert legal_notice([job()]) == DEFAULT_NOTICE
