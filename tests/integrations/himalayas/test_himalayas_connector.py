"""The Himalayas feed's contract, driven against its sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from gigforge.integrations.framework import Capability, JobFeed, JobPosting, Pagination, Permanent
from gigforge.integrations.framework.feeds import decode_json
from gigforge.integrations.himalayas import SPEC, HimalayasConfig, HimalayasConnector
from gigforge.integrations.himalayas.sandbox import HimalayasSandbox
from sandbox_support import RecordedSleep


class SmallPages(HimalayasConnector):
    page_size = 2


async def collect(connector: HimalayasConnector, since: datetime | None = None) -> list[JobPosting]:
    return [posting async for posting in connector.listings(since=since)]


def small(connector: HimalayasConnector) -> SmallPages:
    return SmallPages(connector.client, connector.config)


def skipped(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == "feed item skipped"]


def test_the_spec_declares_offset_paging_and_attribution_terms() -> None:
    assert issubclass(HimalayasConnector, JobFeed)
    assert SPEC.capabilities == {Capability.job_feed}
    assert SPEC.pagination is Pagination.offset
    assert "link back" in SPEC.terms.summary
    assert SPEC.docs_url == "https://himalayas.app/docs/remote-jobs-api"


async def test_one_page_holds_every_job_and_each_is_attributed(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.queries == [{"offset": "0", "limit": "20"}]
    assert len(postings) == 6
    for posting in postings:
        assert posting.raw["attribution"]["source"] == "Himalayas"
        assert posting.raw["attribution"]["url"] == posting.url
        assert posting.url.startswith("https://himalayas.app/companies/")


async def test_paging_follows_the_offset_until_the_total_is_read(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    postings = await collect(small(connector))

    assert [q["offset"] for q in sandbox.queries] == ["0", "2", "4"]
    assert [p.posted_at for p in postings] == sorted(
        (p.posted_at for p in postings if p.posted_at), reverse=True
    )
    assert len(postings) == 6


async def test_paging_stops_at_the_first_page_that_reaches_since(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    postings = await collect(small(connector), since=datetime(2026, 1, 2, 12, tzinfo=UTC))

    assert [p.title for p in postings] == [
        "Senior Python Developer",
        "Data Engineer",
        "Support Specialist",
    ]
    assert [q["offset"] for q in sandbox.queries] == ["0", "2"]


@pytest.mark.parametrize("config", [HimalayasConfig(max_pages=2)])
async def test_a_run_reads_no_more_than_max_pages(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    postings = await collect(small(connector))

    assert len(sandbox.queries) == 2
    assert len(postings) == 4


async def test_test_reports_one_job_and_the_total(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    assert await connector.test() == {"count": 1, "total": 6}
    assert sandbox.queries == [{"offset": "0", "limit": "1"}]


async def test_bad_jobs_are_skipped_with_a_warning_and_the_offset_still_advances(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    sandbox.jobs[1:1] = [42, {"title": "No guid"}]

    with capture_logs() as logs:
        postings = await collect(small(connector))

    assert len(postings) == 6
    assert [q["offset"] for q in sandbox.queries] == ["0", "2", "4", "6"]
    assert [(entry["index"], entry["reason"]) for entry in skipped(logs)] == [
        (1, "job is a JSON int, not an object"),
        (2, "the job has no guid"),
    ]


@pytest.mark.parametrize("corruption", ["truncated", "html"])
async def test_a_body_that_is_not_complete_json_is_permanent(
    connector: HimalayasConnector, sandbox: HimalayasSandbox, corruption: str
) -> None:
    sandbox.corruption = corruption  # type: ignore[assignment]

    with pytest.raises(Permanent, match="not complete JSON"):
        await collect(connector)


async def test_a_page_without_jobs_is_permanent(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    sandbox.corruption = "no_jobs"

    with pytest.raises(Permanent, match="`jobs` list"):
        await collect(connector)


def test_json_nested_beyond_reading_is_permanent() -> None:
    with pytest.raises(Permanent, match="nested too deeply"):
        decode_json(b"[" * 200_000, charset=None, spec=SPEC)


async def test_a_mis_encoded_body_is_read_with_replacement_characters(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    sandbox.corruption = "latin1"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert postings[0].client["name"] == "Z\ufffdrich Labs"
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["feed body mis-encoded"]


async def test_a_429_is_retried_after_the_recorded_retry_after(
    connector: HimalayasConnector, sandbox: HimalayasSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 5

    postings = await collect(connector)

    assert len(postings) == 6
    assert sleep.delays == [5.0, 5.0]


async def test_a_refused_request_is_permanent(
    connector: HimalayasConnector, sandbox: HimalayasSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 400

    with pytest.raises(Permanent) as raised:
        await collect(connector)

    assert raised.value.upstream_status == 400
