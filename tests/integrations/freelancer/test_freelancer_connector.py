"""The connector's contract, driven against the Freelancer sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import entry_points

import pytest

from gigforge.integrations.framework import (
    AuthExpired,
    BudgetKind,
    Capability,
    HeaderCredentials,
    JobPosting,
    JobQuery,
    Marketplace,
    Permanent,
    ProposalSubmission,
    RateLimited,
    Registry,
    static_secret,
)
from gigforge.integrations.framework.registry import ENTRY_POINT_GROUP
from gigforge.integrations.freelancer import FreelancerConnector
from gigforge.integrations.freelancer._seed import SANDBOX_USER_ID
from gigforge.integrations.freelancer.connector import ALREADY_SUBMITTED, SUBMITTED
from gigforge.integrations.freelancer.sandbox import FreelancerSandbox

PROJECT = "40100001"  # USD, fixed 750-1500, the newest seeded project


class SmallPages(FreelancerConnector):
    page_size = 3


async def collect(connector: FreelancerConnector, query: JobQuery) -> list[JobPosting]:
    return [posting async for posting in connector.search(query)]


def proposal(**overrides: object) -> ProposalSubmission:
    values: dict[str, object] = {
        "external_job_id": PROJECT,
        "cover_letter": "I have shipped three FastAPI booking backends; plan attached.",
        "amount_minor": 120_000,
        "currency": "USD",
        "period_days": 14,
        "idempotency_key": "proposal-0001",
    }
    values.update(overrides)
    return ProposalSubmission.model_validate(values)


def test_the_declared_entry_point_loads_the_connector_as_a_marketplace() -> None:
    points = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == "freelancer"]

    registry = Registry.from_entry_points(points)

    assert registry.get("freelancer") is FreelancerConnector
    assert issubclass(FreelancerConnector, Marketplace)
    assert [spec.slug for spec in registry.with_capability(Capability.marketplace)] == [
        "freelancer"
    ]


async def test_test_call_returns_the_connected_user(connector: FreelancerConnector) -> None:
    assert await connector.test() == {"user_id": SANDBOX_USER_ID, "username": "gigforge_dev"}


async def test_search_maps_projects_newest_first_with_owner_details(
    connector: FreelancerConnector,
) -> None:
    postings = await collect(connector, JobQuery(limit=3))

    assert [p.external_id for p in postings] == ["40100001", "40100002", "40100003"]
    first = postings[0]
    assert first.platform == "freelancer"
    assert first.url.startswith("https://www.freelancer.com/projects/python/")
    assert first.skills == ("Python", "FastAPI")
    assert first.budget is not None
    assert (first.budget.kind, first.budget.currency) == (BudgetKind.fixed, "USD")
    assert (first.budget.min_minor, first.budget.max_minor) == (75_000, 150_000)
    assert first.posted_at == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert first.proposals_count == 4
    assert first.client["username"] == "northwind_ops"
    assert first.client["country"] == "Australia"
    assert first.client["rating"] == 4.9
    assert "acceptance criteria" in first.description
    assert postings[2].budget is not None
    assert postings[2].budget.kind is BudgetKind.hourly


async def test_search_follows_offsets_across_pages(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    small = SmallPages(connector.client, connector.config)

    postings = await collect(small, JobQuery(limit=50))

    assert len(postings) == 7
    assert len({p.external_id for p in postings}) == 7
    searches = [path for method, path in sandbox.calls if path.endswith("/projects/active/")]
    assert len(searches) == 3  # pages of 3, 3 and 1


async def test_the_next_page_is_asked_for_before_this_one_is_handed_out(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    search = SmallPages(connector.client, connector.config).search(JobQuery(limit=50))

    first = await anext(search)

    searches = [path for method, path in sandbox.calls if path.endswith("/projects/active/")]
    assert first.external_id == "40100001"
    assert len(searches) == 2
    await search.aclose()


async def test_a_search_stopped_early_drops_the_page_it_asked_for_ahead(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    small = SmallPages(connector.client, connector.config)
    search = small.search(JobQuery(limit=50))
    await anext(search)

    await search.aclose()

    assert [p.external_id for p in await collect(small, JobQuery(limit=2))] == [
        "40100001",
        "40100002",
    ]


async def test_near_the_limit_a_page_short_of_matches_is_topped_up(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    small = SmallPages(connector.client, connector.config)

    postings = await collect(small, JobQuery(skills=("python",), limit=3))

    assert [p.external_id for p in postings] == ["40100001", "40100003", "40100005"]


async def test_search_resumes_from_a_postings_cursor(connector: FreelancerConnector) -> None:
    first = await collect(connector, JobQuery(limit=2))

    rest = await collect(connector, JobQuery(limit=2, cursor=first[-1].cursor))

    assert [p.external_id for p in rest] == ["40100003", "40100004"]


async def test_search_sends_keywords_and_posted_after_and_filters_skills(
    connector: FreelancerConnector,
) -> None:
    python_jobs = await collect(connector, JobQuery(skills=("python",), limit=10))
    assert {p.external_id for p in python_jobs} == {"40100001", "40100003", "40100005"}

    recent = await collect(
        connector,
        JobQuery(posted_after=datetime(2025, 12, 31, 20, 0, tzinfo=UTC), limit=10),
    )
    assert [p.external_id for p in recent] == ["40100001", "40100002", "40100003"]

    react = await collect(connector, JobQuery(keywords="react dashboard", limit=10))
    assert [p.external_id for p in react] == ["40100006"]


async def test_submit_proposal_places_a_bid_in_the_projects_currency(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    result = await connector.submit_proposal(proposal())

    assert result.status == SUBMITTED
    bid = sandbox.bids[int(result.external_id)]
    assert bid["project_id"] == int(PROJECT)
    assert bid["bidder_id"] == SANDBOX_USER_ID
    assert bid["amount"] == 1200.0
    assert bid["period"] == 14
    assert bid["milestone_percentage"] == 100
    assert bid["description"].startswith("I have shipped")


async def test_a_retried_submission_returns_the_existing_bid_without_posting_again(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    first = await connector.submit_proposal(proposal())

    again = await connector.submit_proposal(proposal())

    assert again.status == ALREADY_SUBMITTED
    assert again.external_id == first.external_id
    assert len(sandbox.bids) == 1
    assert [m for m, path in sandbox.calls if path.endswith("/bids/")].count("POST") == 1


async def test_a_bid_in_another_currency_is_refused_before_posting(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    with pytest.raises(Permanent, match="priced in USD"):
        await connector.submit_proposal(proposal(currency="EUR"))
    assert sandbox.bids == {}


async def test_provider_4xx_becomes_permanent_with_freelancers_message(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    sandbox.bids_remaining = 0

    with pytest.raises(Permanent) as caught:
        await connector.submit_proposal(proposal())

    assert "You have used all your bids for this month" in caught.value.detail
    assert caught.value.extensions["error_code"] == "ProjectExceptionCodes.BID_LIMIT_EXCEEDED"
    assert caught.value.upstream_status == 400


async def test_a_token_without_the_bidding_scope_is_refused(
    sandbox: FreelancerSandbox, make_connector
) -> None:
    token = str(sandbox.oauth.issue("basic")["access_token"])
    basic = make_connector(
        HeaderCredentials(static_secret(token), header="Freelancer-OAuth-V1", scheme="")
    )

    with pytest.raises(Permanent, match="fln:project_manage"):
        await basic.submit_proposal(proposal())


async def test_a_refused_token_that_cannot_be_refreshed_is_auth_expired(
    sandbox: FreelancerSandbox, oauth_connector: FreelancerConnector
) -> None:
    sandbox.oauth.expire_access_tokens()
    sandbox.oauth.refusing_refresh = True

    with pytest.raises(AuthExpired):
        await oauth_connector.test()


async def test_an_expired_token_is_refreshed_once_and_the_call_replayed(
    sandbox: FreelancerSandbox, oauth_connector: FreelancerConnector, tokens
) -> None:
    sandbox.oauth.expire_access_tokens()

    assert (await oauth_connector.test())["user_id"] == SANDBOX_USER_ID
    assert tokens.refreshes == 1


async def test_a_static_token_the_sandbox_does_not_know_is_auth_expired(make_connector) -> None:
    stranger = make_connector(
        HeaderCredentials(static_secret("not-a-token"), header="Freelancer-OAuth-V1", scheme="")
    )

    with pytest.raises(AuthExpired):
        await collect(stranger, JobQuery(limit=1))


async def test_a_429_with_retry_after_is_retried_after_the_recorded_sleep(
    sandbox: FreelancerSandbox, connector: FreelancerConnector, sleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 7

    postings = await collect(connector, JobQuery(limit=1))

    assert [p.external_id for p in postings] == ["40100001"]
    assert sleep.delays == [7.0]


async def test_an_exhausted_window_without_retry_after_ends_rate_limited(
    sandbox: FreelancerSandbox, connector: FreelancerConnector, sleep
) -> None:
    sandbox.window_limit = 1
    await connector.test()

    with pytest.raises(RateLimited):
        await collect(connector, JobQuery(limit=1))
    assert len(sleep.delays) == 5  # the transport's retries, backing off


async def test_bidding_on_an_unknown_project_is_permanent(connector: FreelancerConnector) -> None:
    with pytest.raises(Permanent, match="Project not found") as caught:
        await connector.submit_proposal(proposal(external_job_id="99999999"))
    assert caught.value.upstream_status == 404


async def test_a_proposal_without_a_period_or_with_a_foreign_id_is_refused(
    sandbox: FreelancerSandbox, connector: FreelancerConnector
) -> None:
    with pytest.raises(Permanent, match="delivery period"):
        await connector.submit_proposal(proposal(period_days=None))
    with pytest.raises(Permanent, match="not a Freelancer project id"):
        await connector.submit_proposal(proposal(external_job_id="upwork~0123"))
    assert sandbox.calls == []


async def test_a_project_without_an_id_is_skipped_and_an_impossible_date_dropped(
    connector: FreelancerConnector, sandbox: FreelancerSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = sandbox._view

    def damaged(project: dict[str, object], params: object) -> dict[str, object]:
        shown = view(project, params)
        if project["id"] == 40100001:
            shown.pop("id")
        if project["id"] == 40100002:
            shown["time_submitted"] = 10**20  # no calendar holds it
        return shown

    monkeypatch.setattr(sandbox, "_view", damaged)
    postings = await collect(connector, JobQuery(limit=3))

    assert [p.external_id for p in postings] == ["40100002", "40100003", "40100004"]
    assert postings[0].posted_at is None
