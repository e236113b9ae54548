"""The We Work Remotely feeds' contract, driven against the sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gigforge.integrations.framework import Capability, JobFeed, JobPosting, Permanent
from gigforge.integrations.weworkremotely import (
    SPEC,
    WeWorkRemotelyConfig,
    WeWorkRemotelyConnector,
)
from gigforge.integrations.weworkremotely.connector import parse_feed
from gigforge.integrations.weworkremotely.sandbox import (
    WeWorkRemotelySandbox,
    render_feed,
    seed_items,
)
from sandbox_support import RecordedSleep

BACK_END = "remote-back-end-programming-jobs"
DESIGN = "remote-design-jobs"


async def collect(
    connector: WeWorkRemotelyConnector, since: datetime | None = None
) -> list[JobPosting]:
    return [posting async for posting in connector.listings(since=since)]


def events(logs: list[dict[str, object]], event: str) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == event]


def test_the_spec_says_plainly_that_automated_use_is_restricted() -> None:
    assert issubclass(WeWorkRemotelyConnector, JobFeed)
    assert SPEC.capabilities == {Capability.job_feed}
    assert "restricts automated use" in SPEC.terms.summary
    assert SPEC.terms.url == "https://weworkremotely.com/api-terms-and-guidelines"
    field = SPEC.config_schema()["properties"]["enabled_by_user"]
    assert field["default"] is False
    assert "after reading" in field["description"]


def test_category_slugs_are_checked_and_capped() -> None:
    with pytest.raises(ValueError, match="pattern"):
        WeWorkRemotelyConfig(categories=("../admin",))
    with pytest.raises(ValueError, match="at most 4"):
        WeWorkRemotelyConfig(categories=("a", "b", "c", "d", "e"))


@pytest.mark.parametrize("config", [WeWorkRemotelyConfig()])
async def test_a_connection_not_turned_on_refuses_without_calling(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    with pytest.raises(Permanent, match="enabled_by_user") as raised:
        await collect(connector)
    with pytest.raises(Permanent, match="api-terms-and-guidelines"):
        await connector.test()

    assert "terms restrict automated use" in raised.value.detail
    assert sandbox.paths == []


async def test_the_all_jobs_feed_is_read_and_every_posting_attributed(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.paths == ["/remote-jobs.rss"]
    assert [p.title for p in postings] == [
        "Senior Python Developer",
        "Backend Engineer",
        "Full-Stack Developer",
        "Product Designer",
        "Support Engineer",
    ]
    for posting in postings:
        assert posting.raw["attribution"]["source"] == "We Work Remotely"
        assert posting.raw["attribution"]["url"] == posting.url
        assert posting.url.startswith("https://weworkremotely.com/remote-jobs/")


@pytest.mark.parametrize(
    "config", [WeWorkRemotelyConfig(enabled_by_user=True, categories=(DESIGN, BACK_END))]
)
async def test_category_feeds_are_merged_newest_first(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.paths == [f"/categories/{DESIGN}.rss", f"/categories/{BACK_END}.rss"]
    assert [p.title for p in postings] == [
        "Senior Python Developer",
        "Backend Engineer",
        "Product Designer",
    ]


async def test_since_keeps_newer_and_undated_listings(connector: WeWorkRemotelyConnector) -> None:
    postings = await collect(connector, since=datetime(2026, 1, 4, 10, tzinfo=UTC))

    assert [p.title for p in postings] == ["Senior Python Developer", "Support Engineer"]


async def test_test_counts_the_first_feeds_items(connector: WeWorkRemotelyConnector) -> None:
    assert await connector.test() == {"count": 5}


@pytest.mark.parametrize(
    "config", [WeWorkRemotelyConfig(enabled_by_user=True, categories=("remote-nope-jobs",))]
)
async def test_an_unknown_category_feed_is_permanent(connector: WeWorkRemotelyConnector) -> None:
    with pytest.raises(Permanent) as raised:
        await collect(connector)

    assert raised.value.upstream_status == 404


async def test_items_that_cannot_be_postings_are_skipped_with_a_warning(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    sandbox.items.insert(1, {"title": "Elsewhere: Dev", "link": "https://x.test/1", "guid": "1"})

    with capture_logs() as logs:
        postings = await collect(connector)

    assert len(postings) == 5
    [entry] = events(logs, "feed item skipped")
    assert entry["integration"] == "weworkremotely"
    assert entry["reason"] == "item https://x.test/1 does not link to https://weworkremotely.com"
    assert entry["log_level"] == "warning"


async def test_a_truncated_feed_yields_the_items_before_the_cut(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    sandbox.corruption = "truncated"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert 0 < len(postings) < 5
    assert postings[0].title == "Senior Python Developer"
    assert events(logs, "feed parsed leniently")


async def test_an_html_page_instead_of_a_feed_is_permanent(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    sandbox.corruption = "html"

    with pytest.raises(Permanent, match="not an RSS feed"):
        await collect(connector)


def test_a_body_naming_a_local_file_is_never_read_as_one(tmp_path: Path) -> None:
    local_feed = tmp_path / "feed.xml"
    local_feed.write_text(render_feed(seed_items(), title="local"))

    with pytest.raises(Permanent, match="not an RSS feed"):
        parse_feed(str(local_feed).encode(), content_type=None, path="/remote-jobs.rss")


async def test_a_feed_in_another_encoding_than_declared_is_still_read(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox
) -> None:
    sandbox.corruption = "latin1"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert len(postings) == 5
    assert postings[0].client["name"] == "Acme Café"
    [warning] = events(logs, "feed parsed leniently")
    assert "utf-8" in str(warning["reason"])


async def test_a_429_is_retried_after_the_recorded_retry_after(
    connector: WeWorkRemotelyConnector, sandbox: WeWorkRemotelySandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 12

    postings = await collect(connector)

    assert len(postings) == 5
    assert sleep.delays == [12.0]
