"""Normalization turns whatever a connector hands over into one bounded, trusted shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from gigforge.integrations.framework.capabilities import Budget, BudgetKind, JobPosting
from gigforge.kit.sanitize import plain_text, safe_html
from gigforge.opportunities.normalize import (
    DESCRIPTION_LIMIT,
    SKILLS_LIMIT,
    TITLE_LIMIT,
    NormalizationError,
    normalize,
)
from gigforge.opportunities.types import Attribution, ClientInfo


def make_posting(**overrides: Any) -> JobPosting:
    fields: dict[str, Any] = {
        "platform": "upwork",
        "external_id": "~0123",
        "url": "https://www.upwork.com/jobs/~0123",
        "title": "Senior Python developer",
    }
    fields.update(overrides)
    return JobPosting(**fields)


def make_unvalidated(**overrides: Any) -> JobPosting:
    """A posting as a careless connector might build it, skipping pydantic's checks."""
    fields: dict[str, Any] = {
        "platform": "upwork",
        "external_id": "~0123",
        "url": "https://www.upwork.com/jobs/~0123",
        "title": "Senior Python developer",
        "description": "",
        "skills": (),
        "client": {},
        "raw": {},
    }
    fields.update(overrides)
    return JobPosting.model_construct(**fields)


def test_a_posting_with_only_required_fields_normalizes_with_empty_optionals() -> None:
    item = normalize(make_posting())

    assert (item.platform, item.external_id, item.title) == (
        "upwork",
        "~0123",
        "Senior Python developer",
    )
    assert item.description == item.description_text == ""
    assert item.skills == ()
    assert item.category is None
    assert (item.budget_kind, item.budget_min_minor, item.budget_max_minor, item.currency) == (
        None,
        None,
        None,
        None,
    )
    assert item.posted_at is None
    assert item.client == ClientInfo()
    assert item.proposals_count is None
    assert item.attribution is None


def test_hostile_title_becomes_plain_text() -> None:
    item = normalize(
        make_posting(
            title='<script>alert(1)</script><b>Senior</b> dev <img src=x onerror="alert(2)">'
        )
    )

    assert item.title == "Senior dev"


def test_hostile_description_keeps_only_safe_markup() -> None:
    item = normalize(
        make_posting(
            description=(
                '<p onclick="steal()">Build <b>an API</b></p><script>alert(1)</script>'
                '<img src=x onerror="alert(2)"><a href="javascript:alert(3)">click</a>'
                '<a href="https://docs.example/spec">spec</a>'
            )
        )
    )

    for active in ("script", "onclick", "onerror", "javascript:", "<img", "alert"):
        assert active not in item.description
    assert "<p>Build <b>an API</b></p>" in item.description
    assert 'href="https://docs.example/spec"' in item.description
    assert item.description_text == "Build an API click spec"


def test_description_text_keeps_list_items_apart_and_decodes_entities_once() -> None:
    item = normalize(make_posting(description="<ul><li>Go</li><li>SQL</li></ul>R&amp;D &amp;lt;3"))

    assert item.description_text == "Go SQL R&D &lt;3"


def test_a_long_description_is_cut_to_the_limit_and_stays_well_formed() -> None:
    paragraph = '<p>Build <a href="https://example.com/a?b=1&c=2">the</a> thing &amp; more</p>'
    item = normalize(make_posting(description=paragraph * 1000))

    assert len(item.description) <= DESCRIPTION_LIMIT
    assert len(item.description_text) <= DESCRIPTION_LIMIT
    assert item.description.endswith("</p>")
    assert item.description.count("<p>") == item.description.count("</p>")
    assert item.description.count("<a ") == item.description.count("</a>")


def test_plain_descriptions_read_exactly_as_the_sanitizer_would_for_every_character() -> None:
    """Text with none of the characters nh3 acts on skips it, on the promise that nh3 would
    hand it back unchanged but for surrounding whitespace: every other code point keeps it."""
    acted_on = set("\x00\r&<>\xa0\ufeff")
    others = [
        chr(code)
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF and chr(code) not in acted_on
    ]
    for start in range(0, len(others), 5000):
        text = " ".join(others[start : start + 5000])
        item = normalize(make_posting(description=f"  {text}\n"))
        assert item.description == safe_html(text)
        assert item.description_text == " ".join(text.split())


@pytest.mark.parametrize("character", ["\x00", "\r", "&", "<", ">", "\xa0", "\ufeff"])
def test_a_description_with_a_character_nh3_acts_on_goes_through_it(character: str) -> None:
    description = f"{character}Fix the\r\nlogin {character} page{character}"

    assert normalize(make_posting(description=description)).description == safe_html(description)


@pytest.mark.parametrize(
    "title",
    [
        "  Senior   Python\tdeveloper \n",
        "Fix \"quotes\" > and 'apostrophes'",
        "D\u00e9veloppeur \u00b7 \u65e5\u672c\u8a9e \u2013 na\u00efve",
        "Tabs\x0bvertical\x0cfeed\u00a0nbsp\u2003em space",
        "x" * (TITLE_LIMIT + 50),
    ],
)
def test_markup_free_titles_read_exactly_as_the_sanitizer_would(title: str) -> None:
    assert normalize(make_posting(title=title)).title == plain_text(title)[:TITLE_LIMIT].rstrip()


def test_title_is_limited_to_300_characters() -> None:
    title = normalize(make_posting(title="<b>" + "x" * (2 * TITLE_LIMIT) + "</b>")).title

    assert title == "x" * TITLE_LIMIT


def test_skills_are_lower_cased_stripped_deduplicated_in_order_and_capped() -> None:
    item = normalize(
        make_posting(skills=("Python", " python ", "Django", "<b>SQL</b>", "  ", "Node  JS"))
    )
    assert item.skills == ("python", "django", "sql", "node js")

    many = normalize(make_posting(skills=tuple(f"skill {n}" for n in range(SKILLS_LIMIT + 20))))
    assert len(many.skills) == SKILLS_LIMIT
    assert many.skills[-1] == f"skill {SKILLS_LIMIT - 1}"


def test_skills_of_the_wrong_type_are_skipped() -> None:
    assert normalize(make_unvalidated(skills=("Go", 42, None, "Rust"))).skills == ("go", "rust")
    assert normalize(make_unvalidated(skills="python")).skills == ()


def test_budget_is_ordered_upper_cased_and_keeps_only_plausible_amounts() -> None:
    swapped = normalize(
        make_posting(
            budget=Budget(kind=BudgetKind.fixed, currency="usd", min_minor=90_000, max_minor=50_000)
        )
    )
    assert (swapped.budget_kind, swapped.budget_min_minor, swapped.budget_max_minor) == (
        "fixed",
        50_000,
        90_000,
    )
    assert swapped.currency == "USD"

    implausible = normalize(
        make_posting(
            budget=Budget(kind=BudgetKind.hourly, currency="EUR", min_minor=-500, max_minor=10**15)
        )
    )
    assert implausible.budget_kind == "hourly"
    assert (implausible.budget_min_minor, implausible.budget_max_minor) == (None, None)

    unstated = normalize(
        make_posting(
            budget=Budget(kind=BudgetKind.fixed, currency="GBP", min_minor=0, max_minor=40_000)
        )
    )
    assert (unstated.budget_min_minor, unstated.budget_max_minor) == (None, 40_000)


def test_a_currency_that_is_not_three_letters_is_unknown() -> None:
    item = normalize(
        make_posting(budget=Budget(kind=BudgetKind.fixed, currency="U$D", max_minor=100))
    )

    assert item.currency is None
    assert item.budget_max_minor == 100


def test_client_fields_tolerate_missing_and_wrongly_typed_values() -> None:
    item = normalize(
        make_posting(
            client={
                "country": 42,
                "payment_verified": "yes",
                "rating": "7.5",
                "hires": -3,
                "total_spend_minor": "lots",
                "spend_currency": "eur",
                "unknown": object(),
            }
        )
    )
    assert item.client == ClientInfo(
        country=None, payment_verified=True, rating=5.0, hires=None, spend_currency="EUR"
    )

    odd = normalize(
        make_posting(client={"payment_verified": "maybe", "rating": float("nan"), "hires": True})
    )
    assert odd.client == ClientInfo()

    numeric = normalize(
        make_posting(
            client={
                "country": " <b>DE</b> ",
                "rating": -1,
                "hires": 12.0,
                "total_spend_minor": "250000",
            }
        )
    )
    assert numeric.client == ClientInfo(
        country="DE", rating=0.0, hires=12, total_spend_minor=250_000
    )


def test_a_client_that_is_not_a_mapping_is_unknown() -> None:
    assert normalize(make_unvalidated(client=["US"])).client == ClientInfo()


def test_naive_posted_at_is_taken_as_utc_and_aware_ones_are_converted() -> None:
    naive = normalize(make_posting(posted_at=datetime(2026, 3, 1, 9, 30)))
    assert naive.posted_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert naive.posted_at is not None
    assert naive.posted_at.tzinfo is UTC

    berlin = timezone(timedelta(hours=1))
    aware = normalize(make_posting(posted_at=datetime(2026, 3, 1, 10, 30, tzinfo=berlin)))
    assert aware.posted_at is not None
    assert aware.posted_at.tzinfo is UTC
    assert aware.posted_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_values_of_the_wrong_type_in_optional_fields_become_unknown() -> None:
    item = normalize(
        make_unvalidated(posted_at="yesterday", proposals_count="many", budget={"x": 1})
    )

    assert (item.posted_at, item.proposals_count, item.budget_kind) == (None, None, None)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/job",
        "//example.com/job",
        "https://",
        "https://exa mple.com/job",
        'https://example.com/"><script>alert(1)</script>',
        "https://example.com/\njob",
        "https://example.com/" + "a" * 1000,
        "",
    ],
)
def test_a_link_that_is_not_plain_http_raises_naming_the_url(url: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(make_posting(url=url))

    assert caught.value.field == "url"
    assert str(caught.value).startswith("url: ")
    assert "\n" not in str(caught.value)


def test_http_links_are_accepted_and_trimmed() -> None:
    assert normalize(make_posting(url="  HTTP://example.com  ")).url == "HTTP://example.com"
    assert (
        normalize(make_posting(url="https://example.com/a?b=1#c")).url
        == "https://example.com/a?b=1#c"
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "<script>alert(1)</script>"}, "title"),
        ({"title": "   "}, "title"),
        ({"external_id": "  "}, "external_id"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"platform": ""}, "platform"),
    ],
)
def test_an_unusable_identity_raises_naming_the_field(
    overrides: dict[str, str], field: str
) -> None:
    with pytest.raises(NormalizationError) as caught:
        normalize(make_posting(**overrides))

    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_a_required_field_of_the_wrong_type_raises() -> None:
    with pytest.raises(NormalizationError, match=r"^title: "):
        normalize(make_unvalidated(title=None))


def test_attribution_and_raw_payload_are_carried_through() -> None:
    attribution = Attribution(source="RemoteOK", url="https://remoteok.com", notice="Via RemoteOK")
    item = normalize(make_posting(raw={"id": 7}), attribution=attribution)

    assert item.attribution is attribution
    assert item.raw == {"id": 7}
