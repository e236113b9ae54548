"""The Remote OK feed's contract, driven against its sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pydantic import BaseModel
from structlog.testing import capture_logs

from gigforge.integrations.framework import (
    Capability,
    JobFeed,
    JobPosting,
    Permanent,
    RateLimited,
)
from gigforge.integrations.framework.feeds import decode_json
from gigforge.integrations.remoteok import SPEC, RemoteOKConfig, RemoteOKConnector
from gigforge.integrations.remoteok.sandbox import RemoteOKSandbox
from sandbox_support import RecordedSleep


async def collect(connector: RemoteOKConnector, since: datetime | None = None) -> list[JobPosting]:
    return [posting async for posting in connector.listings(since=since)]


def skipped(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == "feed item skipped"]


def test_the_spec_declares_a_public_job_feed_with_its_terms() -> None:
    assert issubclass(RemoteOKConnector, JobFeed)
    assert SPEC.capabilities == {Capability.job_feed}
    assert [mode.value for mode in SPEC.auth_modes] == ["none"]
    assert "link back" in SPEC.terms.summary
    assert SPEC.parsed_limits()
    assert "writeOnly" not in str(SPEC.config_schema())


async def test_listings_skip_the_legal_notice_and_attribute_every_posting(
    connector: RemoteOKConnector,
) -> None:
    postings = await collect(connector)

    assert [p.external_id for p in postings] == ["1130001", "1130002", "1130003", "1130004"]
    for posting in postings:
        attribution = posting.raw["attribution"]
        assert attribution["source"] == "Remote OK"
        assert attribution["url"] == posting.url
        assert attribution["url"].startswith("https://remoteok.com/remote-jobs/")
        assert "sandbox copy of the notice" in attribution["notice"]


async def test_since_keeps_only_newer_listings(connector: RemoteOKConnector) -> None:
    postings = await collect(connector, since=datetime(2026, 1, 4, tzinfo=UTC))

    assert [p.external_id for p in postings] == ["1130001"]


async def test_a_naive_since_is_read_as_utc(connector: RemoteOKConnector) -> None:
    postings = await collect(connector, since=datetime(2026, 1, 3, 12))

    assert [p.external_id for p in postings] == ["1130001", "1130002"]


@pytest.mark.parametrize("config", [RemoteOKConfig(tags=("python", "devops"))])
async def test_tags_narrow_the_feed_on_the_server(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    postings = await collect(connector)

    assert sandbox.queries == [{"tags": "python,devops"}]
    assert [p.external_id for p in postings] == ["1130001", "1130004"]


async def test_test_counts_the_jobs_in_the_feed(connector: RemoteOKConnector) -> None:
    assert await connector.test() == {"count": 4}


async def test_bad_elements_are_skipped_with_a_warning_and_the_rest_still_arrive(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.jobs[1:1] = ["not a job", {"position": "No id"}, {"id": "5", "position": "No link"}]

    with capture_logs() as logs:
        postings = await collect(connector)

    assert [p.external_id for p in postings] == ["1130001", "1130002", "1130003", "1130004"]
    reasons = [entry["reason"] for entry in skipped(logs)]
    assert reasons == [
        "element is a JSON str, not an object",
        "the job has no id",
        "job 5 has no Remote OK URL to link back to",
    ]
    assert all(entry["integration"] == "remoteok" for entry in skipped(logs))
    assert all(entry["log_level"] == "warning" for entry in skipped(logs))


async def test_a_truncated_body_is_permanent_with_a_clear_message(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.corruption = "truncated"

    with pytest.raises(Permanent, match="not complete JSON"):
        await collect(connector)


async def test_an_html_page_instead_of_json_is_permanent(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.corruption = "html"

    with pytest.raises(Permanent, match="not complete JSON"):
        await connector.test()


async def test_a_json_object_instead_of_the_array_is_permanent(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.corruption = "object"

    with pytest.raises(Permanent, match="not the job array"):
        await collect(connector)


async def test_a_mis_encoded_body_is_read_with_replacement_characters(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.corruption = "latin1"

    with capture_logs() as logs:
        postings = await collect(connector)

    assert len(postings) == 4
    assert postings[0].client["name"] == "Northwind Caf\ufffd"
    assert [entry["event"] for entry in logs if entry["log_level"] == "warning"] == [
        "feed body mis-encoded"
    ]


async def test_a_429_is_retried_after_the_recorded_retry_after(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 7

    postings = await collect(connector)

    assert len(postings) == 4
    assert sleep.delays == [7.0]
    assert sandbox.faults.served == 2


async def test_a_retry_after_longer_than_a_call_may_wait_is_rate_limited(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 3600

    with pytest.raises(RateLimited) as raised:
        await collect(connector)

    assert raised.value.retry_after == 3600


async def test_a_refused_request_is_permanent(
    connector: RemoteOKConnector, sandbox: RemoteOKSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 403

    with pytest.raises(Permanent) as raised:
        await collect(connector)

    assert raised.value.upstream_status == 403
    assert "sandbox fault" in raised.value.extensions["body"]


async def test_the_connector_refuses_another_vendors_config() -> None:
    class OtherConfig(BaseModel):
        pass

    async with httpx.AsyncClient() as client:
        with pytest.raises(TypeError, match="RemoteOKConfig"):
            RemoteOKConnector(client, OtherConfig())


def test_json_nested_beyond_reading_is_permanent() -> None:
    with pytest.raises(Permanent, match="nested too deeply"):
        decode_json(b"[" * 200_000, charset=None, spec=SPEC)
