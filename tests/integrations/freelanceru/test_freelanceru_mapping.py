# ruff: noqa: RUF001 - Freelance.ru's projects are written in Russian.
"""Freelance.ru RSS items, as the feeds carry them, mapped to postings."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from gigforge.integrations.framework import BudgetKind
from gigforge.integrations.freelanceru.mapping import (
    MalformedItem,
    item_fields,
    project_id,
    rouble_budget,
    to_posting,
)
from gigforge.integrations.freelanceru.sandbox import render_feed, seed_items

LINK = "https://freelance.ru/projects/telegram-bot-dlya-zapisi-1482001.html"


def parsed_items() -> list[dict[str, Any]]:
    """The seeded items as they come out of feedparser, from windows-1251 bytes."""
    body = render_feed(seed_items()).encode("windows-1251")
    feed = feedparser.parse(io.BytesIO(body))
    assert feed.encoding == "windows-1251"
    return [item_fields(entry) for entry in feed.entries]


def test_feedparser_entries_become_the_items_own_elements() -> None:
    assert parsed_items()[0] == {
        "title": "Разработать Telegram-бота на Python",
        "link": LINK,
        "guid": LINK,
        "pubDate": "Mon, 05 Jan 2026 13:00:00 +0300",
        "description": (
            "Нужен бот для записи клиентов в салон.<br />Бюджет: 15 000 руб.<br />Срок: 2 недели."
        ),
        "author": "Салон «Ромашка»",
        "category": "Программирование",
    }


def test_a_full_item_maps_every_field() -> None:
    posting = to_posting(parsed_items()[0])

    assert posting.platform == "freelanceru"
    assert posting.external_id == "1482001"
    assert posting.url == LINK
    assert posting.title == "Разработать Telegram-бота на Python"
    assert posting.description.startswith("Нужен бот для записи клиентов в салон.<br>")
    assert posting.category == "Программирование"
    assert posting.posted_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert posting.client == {"name": "Салон «Ромашка»"}
    assert posting.budget is not None
    assert (
        posting.budget.kind,
        posting.budget.currency,
        posting.budget.min_minor,
        posting.budget.max_minor,
    ) == (BudgetKind.fixed, "RUB", 1_500_000, 1_500_000)
    assert posting.raw["attribution"] == {
        "source": "Freelance.ru",
        "url": LINK,
        "notice": posting.raw["attribution"]["notice"],
    }


def test_an_item_with_only_the_required_elements_maps() -> None:
    posting = to_posting(parsed_items()[2])

    assert posting.title == "Написать текст для страницы"
    assert posting.external_id == "1482003"
    assert posting.description == ""
    assert posting.category is None
    assert posting.budget is None
    assert posting.posted_at is None
    assert posting.client == {}
    assert posting.raw["attribution"]["url"] == posting.url


def test_hostile_html_is_stripped_from_the_title_and_defused_in_the_description() -> None:
    posting = to_posting(parsed_items()[1])

    assert posting.title == "Сайт-визитка срочно"
    for needle in ("<script", "onclick", "javascript:", "alert("):
        assert needle not in posting.description
    assert "Лендинг на Tilda." in posting.description


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Бюджет: 15 000 руб.", (BudgetKind.fixed, 1_500_000, 1_500_000)),
        ("Оплата от 10 000 до 20 000 руб.", (BudgetKind.fixed, 1_000_000, 2_000_000)),
        ("10000-20000 рублей", (BudgetKind.fixed, 1_000_000, 2_000_000)),
        ("до 5000 ₽", (BudgetKind.fixed, None, 500_000)),
        ("от 3000 руб", (BudgetKind.fixed, 300_000, 300_000)),
        ("Ставка 500 руб./час", (BudgetKind.hourly, 50_000, 50_000)),
        ("800 р. в час", (BudgetKind.hourly, 80_000, 80_000)),
        ("Budget 12\u00a0000 RUB", (BudgetKind.fixed, 1_200_000, 1_200_000)),
        ("20 000 - 10 000 руб.", (BudgetKind.fixed, 1_000_000, 2_000_000)),
    ],
)
def test_rouble_amounts_in_the_text_become_a_budget(
    text: str, expected: tuple[BudgetKind, int | None, int | None]
) -> None:
    budget = rouble_budget(text)

    assert budget is not None
    assert budget.currency == "RUB"
    assert (budget.kind, budget.min_minor, budget.max_minor) == expected


@pytest.mark.parametrize(
    "text", ["Бюджет: договорная", "Срок: 2 недели", "$500", "0 руб.", "Версия 2.0"]
)
def test_text_without_a_rouble_amount_is_no_budget(text: str) -> None:
    assert rouble_budget(text) is None


@pytest.mark.parametrize(
    ("url", "guid", "expected"),
    [
        (LINK, LINK, "1482001"),
        ("https://freelance.ru/projects/1482009.html?from=rss", "", "1482009"),
        ("https://freelance.ru/projects/view", "guid-7", "guid-7"),
        ("https://freelance.ru/projects/view", "", "https://freelance.ru/projects/view"),
    ],
)
def test_the_project_number_is_the_external_id(url: str, guid: str, expected: str) -> None:
    assert project_id(url, guid) == expected


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"title": "Проект"}, r"\(no link\) does not link"),
        ({"title": "Проект", "link": "https://fl.ru/projects/1.html"}, "does not link"),
        ({"title": "<script>x</script>", "link": LINK}, "has no title"),
    ],
)
def test_an_item_without_a_title_or_a_link_back_is_refused(
    item: dict[str, Any], reason: str
) -> None:
    with pytest.raises(MalformedItem, match=reason):
        to_posting(item)
