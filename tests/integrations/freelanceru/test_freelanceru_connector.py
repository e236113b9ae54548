"""The Freelance.ru feed's contract, driven against its sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gigforge.integrations.framework import Capability, JobFeed, JobPosting, Permanent
from gigforge.integrations.freelanceru import SPEC, FreelanceRuConfig, FreelanceRuConnector
from gigforge.integrations.freelanceru.connector import parse_feed
from gigforge.integrations.freelanceru.sandbox import FreelanceRuSandbox, render_feed, seed_items
from sandbox_support import RecordedSleep

TITLES = [
    "Разработать Telegram-бота на Python",
    "Сайт-визитка срочно",
    "Написать текст для страницы",
    "Перевод технической документации",
    "Логотип для кофейни",
]


async def collect(
    connector: FreelanceRuConnector, since: datetime | None = None
) -> list[JobPosting]:
    return [posting async for posting in connector.listings(since=since)]


def events(logs: list[dict[str, object]], event: str) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == event]


def test_the_spec_declares_a_public_feed_and_what_is_known_of_its_terms() -> None:
    assert issubclass(FreelanceRuConnector, JobFeed)
    assert SPEC.capabilities == {Capability.job_feed}
    assert SPEC.docs_url == "https://freelance.ru/rss/index"
    assert "no terms of its own" in SPEC.terms.summary


@pytest.mark.parametrize("path", ["/rss/feed/list/s.116.f.635", "/rss/projects.xml"])
def test_feed_paths_from_the_rss_page_are_accepted(path: str) -> None:
    assert FreelanceRuConfig(feed_path=path).feed_path == path


@pytest.mark.parametrize("path", ["/rss/../admin", "https://evil.test/rss", "/projects/1.html"])
def test_other_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        FreelanceRuConfig(feed_path=path)


async def test_the_windows_1251_feed_is_read_and_every_posting_attributed(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.paths == ["/rss/projects.xml"]
    assert [p.title for p in postings] == TITLES
    for posting in postings:
        assert posting.raw["attribution"]["source"] == "Freelance.ru"
        assert posting.raw["attribution"]["url"] == posting.url
        assert posting.url.startswith("https://freelance.ru/projects/")


@pytest.mark.parametrize("config", [FreelanceRuConfig(feed_path="/rss/feed/list/s.116")])
async def test_a_specialisation_feed_is_read_at_its_path(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    assert await connector.test() == {"count": 5}
    assert sandbox.paths == ["/rss/feed/list/s.116"]


async def test_since_keeps_newer_and_undated_listings(connector: FreelanceRuConnector) -> None:
    postings = await collect(connector, since=datetime(2026, 1, 4, 10, tzinfo=UTC))

    assert [p.external_id for p in postings] == ["1482001", "1482003"]


async def test_items_that_cannot_be_postings_are_skipped_with_a_warning(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    sandbox.items.insert(0, {"title": "Чужой проект", "link": "https://x.test/1", "guid": "1"})

    with capture_logs() as logs:
        postings = await collect(connector)

    assert [p.title for p in postings] == TITLES
    [entry] = events(logs, "feed item skipped")
    assert entry["integration"] == "freelanceru"
    assert entry["reason"] == "item https://x.test/1 does not link to https://freelance.ru"
    assert entry["log_level"] == "warning"


async def test_a_feed_mislabelled_as_utf8_is_read_again_as_windows_1251(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    sandbox.corruption = "mislabelled"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert [p.title for p in postings] == TITLES
    [warning] = events(logs, "feed body mis-encoded")
    assert "windows-1251" in str(warning["reason"])


async def test_a_truncated_feed_yields_the_items_before_the_cut(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    sandbox.corruption = "truncated"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert 0 < len(postings) < 5
    assert [p.title for p in postings] == TITLES[: len(postings)]
    assert events(logs, "feed parsed leniently")


async def test_an_html_page_instead_of_a_feed_is_permanent(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    sandbox.corruption = "html"

    with pytest.raises(Permanent, match="not an RSS feed"):
        await collect(connector)


@pytest.mark.parametrize("body", [b"", b"\x00\xff\xfe garbage"])
def test_bodies_that_are_no_feed_are_permanent(body: bytes) -> None:
    with pytest.raises(Permanent, match="not an RSS feed"):
        parse_feed(body, content_type=None)


def test_a_body_naming_a_local_file_is_never_read_as_one(tmp_path: Path) -> None:
    local_feed = tmp_path / "feed.xml"
    local_feed.write_bytes(render_feed(seed_items()).encode("windows-1251"))

    with pytest.raises(Permanent, match="not an RSS feed"):
        parse_feed(str(local_feed).encode(), content_type=None)


async def test_a_429_is_retried_after_the_recorded_retry_after(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 20

    postings = await collect(connector)

    assert len(postings) == 5
    assert sleep.delays == [20.0]


async def test_a_refused_request_is_permanent(
    connector: FreelanceRuConnector, sandbox: FreelanceRuSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 403

    with pytest.raises(Permanent) as raised:
        await collect(connector)

    assert raised.value.upstream_status == 403
