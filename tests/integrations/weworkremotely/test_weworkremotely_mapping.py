"""We Work Remotely RSS items, as the feeds carry them, mapped to postings."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from gigforge.integrations.weworkremotely.mapping import (
    MalformedItem,
    item_fields,
    rfc822,
    split_title,
    to_posting,
)
from gigforge.integrations.weworkremotely.sandbox import render_feed, seed_items

LINK = "https://weworkremotely.com/remote-jobs/acme-cafe-senior-python-developer"


def parsed_items() -> list[dict[str, Any]]:
    """The seeded items as they come out of feedparser and `item_fields`."""
    body = render_feed(seed_items(), title="test").encode()
    feed = feedparser.parse(io.BytesIO(body))
    return [item_fields(entry) for entry in feed.entries]


def test_feedparser_entries_become_the_items_own_elements() -> None:
    item = parsed_items()[0]

    assert item == {
        "title": "Acme Café: Senior Python Developer",
        "link": LINK,
        "guid": LINK,
        "pubDate": "Mon, 05 Jan 2026 10:00:00 +0000",
        "description": "<p>Build our <strong>billing</strong> service.</p>",
        "region": "Anywhere in the World",
        "country": "Worldwide",
        "skills": "Python, Django, PostgreSQL",
        "type": "Full-Time",
        "expires_at": "Wed, 04 Feb 2026 10:00:00 +0000",
        "category": "Back-End Programming",
        "media_content": "https://wwr-pro.s3.amazonaws.com/logos/acme.png",
    }


def test_a_full_item_maps_every_field() -> None:
    posting = to_posting(parsed_items()[0])

    assert posting.platform == "weworkremotely"
    assert posting.external_id == LINK
    assert posting.url == LINK
    assert posting.title == "Senior Python Developer"
    assert posting.client == {
        "name": "Acme Café",
        "logo_url": "https://wwr-pro.s3.amazonaws.com/logos/acme.png",
    }
    assert posting.description == "<p>Build our <strong>billing</strong> service.</p>"
    assert posting.skills == ("Python", "Django", "PostgreSQL")
    assert posting.category == "Back-End Programming"
    assert posting.posted_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert posting.budget is None
    assert posting.raw["attribution"]["source"] == "We Work Remotely"
    assert posting.raw["attribution"]["url"] == LINK
    assert posting.raw["region"] == "Anywhere in the World"


def test_an_item_with_only_the_required_elements_maps() -> None:
    posting = to_posting(parsed_items()[2])

    assert posting.title == "Support Engineer"
    assert posting.client == {}
    assert posting.description == ""
    assert posting.skills == ()
    assert posting.category is None
    assert posting.posted_at is None
    assert posting.raw["attribution"]["url"] == posting.url


def test_hostile_html_is_stripped_from_the_title_and_defused_in_the_description() -> None:
    posting = to_posting(parsed_items()[1])

    assert posting.title == "Backend Engineer"
    assert posting.client == {"name": "Evil Corp"}
    assert posting.skills == ("Go",)
    for needle in ("<script", "onclick", "javascript:", "<iframe", "alert("):
        assert needle not in posting.description
    assert "Hack on our API." in posting.description


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Acme: Dev", ("Acme", "Dev")),
        ("Acme: Lead: Platform", ("Acme", "Lead: Platform")),
        ("Just a title", ("", "Just a title")),
        ("Acme: ", ("Acme", "")),
    ],
)
def test_titles_split_into_company_and_job(title: str, expected: tuple[str, str]) -> None:
    assert split_title(title) == expected


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"title": "Acme: Dev"}, r"\(no link\) does not link"),
        ({"title": "Acme: Dev", "link": "https://elsewhere.test/job"}, "does not link"),
        ({"title": "Acme: ", "link": LINK}, "has no title"),
    ],
)
def test_an_item_that_cannot_be_shown_as_the_terms_require_is_refused(
    item: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedItem, match=reason):
        to_posting(item)


def test_dates_are_read_as_rfc_822_in_utc() -> None:
    assert rfc822("Mon, 05 Jan 2026 12:00:00 +0200") == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert rfc822("Mon, 05 Jan 2026 12:00:00") == datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert rfc822("tomorrow") is None
    assert rfc822(None) is None
