"""The Remotive feed's contract, driven against its sandbox through the policy layer.

Remotive allows two calls a minute, so no test here makes more than two.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from gigforge.integrations.framework import Capability, JobFeed, JobPosting, Permanent
from gigforge.integrations.framework.feeds import decode_json
from gigforge.integrations.remotive import SPEC, RemotiveConfig, RemotiveConnector
from gigforge.integrations.remotive.sandbox import RemotiveSandbox
from sandbox_support import RecordedSleep


async def collect(connector: RemotiveConnector, since: datetime | None = None) -> list[JobPosting]:
    return [posting async for posting in connector.listings(since=since)]


def warnings(logs: list[dict[str, object]], event: str) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == event]


def test_the_spec_budgets_the_documented_call_limits() -> None:
    assert issubclass(RemotiveConnector, JobFeed)
    assert SPEC.capabilities == {Capability.job_feed}
    assert SPEC.rate_limits == ("2/minute", "4/day")
    assert "link back" in SPEC.terms.summary
    assert SPEC.terms.url == "https://github.com/remotive-com/remote-jobs-api"


async def test_listings_attribute_every_posting_to_remotive(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.queries == [{}]
    assert [p.external_id for p in postings] == ["1950001", "1950002", "1950003", "1950004"]
    for posting in postings:
        assert posting.raw["attribution"]["source"] == "Remotive"
        assert posting.raw["attribution"]["url"] == posting.url
        assert posting.url.startswith("https://remotive.com/remote-jobs/")


async def test_since_keeps_newer_and_undated_listings(connector: RemotiveConnector) -> None:
    postings = await collect(connector, since=datetime(2026, 1, 4, 12, tzinfo=UTC))

    assert [p.external_id for p in postings] == ["1950001", "1950003"]


@pytest.mark.parametrize(
    "config", [RemotiveConfig(category="software-dev", search="ingestion", limit=5)]
)
async def test_the_documented_filters_are_sent_to_remotive(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.queries == [{"category": "software-dev", "search": "ingestion", "limit": "5"}]
    assert [p.external_id for p in postings] == ["1950001"]


async def test_test_fetches_a_single_listing(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    assert await connector.test() == {"count": 1}
    assert sandbox.queries == [{"limit": "1"}]


async def test_bad_jobs_are_skipped_with_a_warning_and_the_rest_still_arrive(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    sandbox.jobs[1:1] = [None, {"id": 77, "title": "Elsewhere", "url": "https://x.test/77"}]

    with capture_logs() as logs:
        postings = await collect(connector)

    assert [p.external_id for p in postings] == ["1950001", "1950002", "1950003", "1950004"]
    assert [entry["reason"] for entry in warnings(logs, "feed item skipped")] == [
        "job is a JSON NoneType, not an object",
        "job 77 has no Remotive URL to link back to",
    ]
    assert {entry["integration"] for entry in warnings(logs, "feed item skipped")} == {"remotive"}


@pytest.mark.parametrize("corruption", ["truncated", "html"])
async def test_a_body_that_is_not_complete_json_is_permanent(
    connector: RemotiveConnector, sandbox: RemotiveSandbox, corruption: str
) -> None:
    sandbox.corruption = corruption  # type: ignore[assignment]

    with pytest.raises(Permanent, match="not complete JSON"):
        await collect(connector)


async def test_an_envelope_without_jobs_is_permanent(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    sandbox.corruption = "no_jobs"

    with pytest.raises(Permanent, match="`jobs` list"):
        await connector.test()


async def test_a_mis_encoded_body_is_read_with_replacement_characters(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    sandbox.corruption = "latin1"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert postings[0].client["name"] == "Se\ufffdor Data"
    assert len(warnings(logs, "feed body mis-encoded")) == 1


async def test_a_429_is_retried_after_the_recorded_retry_after(
    connector: RemotiveConnector, sandbox: RemotiveSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 30

    postings = await collect(connector)

    assert len(postings) == 4
    assert sleep.delays == [30.0]


async def test_a_refused_request_is_permanent(
    connector: RemotiveConnector, sandbox: RemotiveSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 404

    with pytest.raises(Permanent) as raised:
        await collect(connector)

    assert raised.value.upstream_status == 404


def test_json_nested_beyond_reading_is_permanent() -> None:
    with pytest.raises(Permanent, match="nested too deeply"):
        decode_json(b"[" * 200_000, charset=None, spec=SPEC)
