"""The connector's contract, driven against the Upwork sandbox through the policy layer."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from upwork_helpers import SANDBOX_SPEC, Connect, RecordedSleep, SandboxTokens

from gigforge.integrations.framework import (
    AuthExpired,
    BudgetKind,
    HeaderCredentials,
    JobPosting,
    JobQuery,
    NotSupported,
    OAuth2Credentials,
    Permanent,
    ProposalSubmission,
    RateLimited,
    Registry,
    static_secret,
)
from gigforge.integrations.framework.registry import ENTRY_POINT_GROUP
from gigforge.integrations.upwork import SPEC, UpworkConfig, UpworkConnector
from gigforge.integrations.upwork.sandbox import READ_JOBS, UpworkSandbox
from gigforge.kit.clock import utcnow


async def collect(connector: UpworkConnector, query: JobQuery) -> list[JobPosting]:
    return [posting async for posting in connector.search(query)]


def search_filters(sandbox: UpworkSandbox) -> list[dict[str, Any]]:
    return [call["body"]["variables"]["marketPlaceJobFilter"] for call in sandbox.calls]


async def test_search_follows_cursors_across_pages_newest_first(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    postings = await collect(connect(), JobQuery())

    assert len(postings) == len(sandbox.postings) == 8
    assert [p.posted_at for p in postings] == sorted(
        (p.posted_at for p in postings), key=lambda at: at.timestamp() if at else 0, reverse=True
    )
    assert [f["pagination_eq"] for f in search_filters(sandbox)] == [
        {"first": 50},
        {"first": 50, "after": "5"},
    ]
    assert [p.cursor for p in postings] == [str(n) for n in range(1, 9)]


async def test_search_resumes_after_the_cursor_of_the_last_posting_kept(
    connect: Connect,
) -> None:
    connector = connect()
    first_scan = await collect(connector, JobQuery(limit=3))
    rest = await collect(connector, JobQuery(cursor=first_scan[-1].cursor))

    assert len(first_scan) == 3
    assert len(rest) == 5
    assert not {p.external_id for p in first_scan} & {p.external_id for p in rest}


async def test_search_sends_the_documented_query_and_filters(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    postings = await collect(connect(), JobQuery(keywords="Python", skills=("Django", "FastAPI")))

    body = sandbox.calls[0]["body"]
    assert "marketplaceJobPostingsSearch(" in body["query"]
    assert body["variables"]["searchType"] == "USER_JOBS_SEARCH"
    assert body["variables"]["sortAttributes"] == [{"field": "RECENCY"}]
    assert body["variables"]["marketPlaceJobFilter"] == {
        "searchExpression_eq": "Python",
        "skillExpression_eq": "Django OR FastAPI",
        "pagination_eq": {"first": 50},
    }
    assert [p.title for p in postings] == [
        "FastAPI backend for a booking platform",
        "Migrate a Django REST API to Django 5",
    ]


async def test_search_maps_postings_with_their_budget_client_and_link(connect: Connect) -> None:
    newest, shopify = (await collect(connect(), JobQuery(limit=2)))[:2]

    assert newest.platform == "upwork"
    assert newest.url == f"https://www.upwork.com/jobs/{newest.raw['ciphertext']}"
    assert newest.skills == ("Python", "FastAPI", "PostgreSQL")
    assert newest.budget is not None
    assert (newest.budget.kind, newest.budget.min_minor, newest.budget.max_minor) == (
        BudgetKind.hourly,
        4000,
        7000,
    )
    assert newest.client["country"] == "United States"
    assert newest.client["payment_verified"] is True
    assert newest.client["total_spent_minor"] == 2845050
    assert newest.proposals_count == 12
    assert shopify.budget is not None
    assert (shopify.budget.kind, shopify.budget.max_minor) == (BudgetKind.fixed, 25000)


async def test_a_posting_without_a_link_is_skipped_and_the_scan_goes_on(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    sandbox.postings[0] = {**sandbox.postings[0], "ciphertext": None}

    postings = await collect(connect(), JobQuery())

    assert len(postings) == 7
    assert sandbox.postings[0]["id"] not in {p.external_id for p in postings}


async def test_posted_after_narrows_by_whole_days_and_stops_at_the_first_older_posting(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    postings = await collect(connect(), JobQuery(posted_after=utcnow() - timedelta(hours=28)))

    assert [p.title for p in postings] == [
        "FastAPI backend for a booking platform",
        "Fix checkout bugs in a Shopify store",
        "Airflow data pipeline for marketing analytics",
    ]
    assert search_filters(sandbox)[0]["daysPosted_eq"] == 2
    assert len(sandbox.calls) == 1


async def test_test_reports_the_authorizing_user(connect: Connect) -> None:
    assert await connect().test() == {
        "id": "1614356989843714048",
        "name": "Sam Sandbox",
        "nid": "samsandbox",
    }


async def test_organization_is_chosen_with_the_tenant_header(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    settings = UpworkConfig(
        client_id="sandbox-client-id",
        client_secret=SecretStr("sandbox-client-secret"),
        tenant_id="1614356989852102657",
    )
    await connect(settings=settings).test()

    assert sandbox.calls[0]["headers"]["x-upwork-api-tenantid"] == "1614356989852102657"


async def test_expired_access_token_is_refreshed_once_and_the_query_replayed(
    connect: Connect, sandbox: UpworkSandbox, tokens: SandboxTokens
) -> None:
    connector = connect(OAuth2Credentials(tokens))
    sandbox.oauth.expire_access_tokens()

    postings = await collect(connector, JobQuery(limit=2))

    assert len(postings) == 2
    assert tokens.refreshes == 1
    assert sandbox.oauth.refresh_count == 1


async def test_refused_refresh_is_auth_expired(
    connect: Connect, sandbox: UpworkSandbox, tokens: SandboxTokens
) -> None:
    connector = connect(OAuth2Credentials(tokens))
    sandbox.oauth.expire_access_tokens()
    sandbox.oauth.refusing_refresh = True

    with pytest.raises(AuthExpired):
        await connector.test()


async def test_unknown_bearer_token_is_auth_expired(connect: Connect) -> None:
    connector = connect(HeaderCredentials(static_secret("not-an-upwork-token")))

    with pytest.raises(AuthExpired) as raised:
        await connector.test()
    assert raised.value.upstream_status == 401


async def test_key_without_the_job_postings_scope_is_auth_expired(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    sandbox.permissions.discard(READ_JOBS)

    with pytest.raises(AuthExpired) as raised:
        await collect(connect(), JobQuery())
    assert "doesn't have enough oauth2 permissions/scopes" in raised.value.detail


async def test_graphql_error_in_a_200_is_permanent_with_upworks_message(
    connect: Connect,
) -> None:
    with pytest.raises(Permanent) as raised:
        await collect(connect(), JobQuery(cursor="not-a-cursor"))
    assert "Invalid pagination cursor: not-a-cursor" in raised.value.detail
    assert raised.value.extensions["codes"] == ["DataFetchingException"]


async def test_429_is_waited_out_with_upworks_retry_after(
    connect: Connect, sandbox: UpworkSandbox, sleeps: RecordedSleep
) -> None:
    """A 429 means Upwork did not run the query, so the POST is replayed after the wait."""
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 7

    details = await connect().test()
    assert details["id"]
    assert sleeps.delays == [7.0]
    assert sandbox.faults.served == 2


async def test_sandbox_throttle_asks_for_the_documented_minute(
    sandbox: UpworkSandbox, connect: Connect
) -> None:
    sandbox.requests_per_minute = 1
    connector = connect()
    await connector.test()

    with pytest.raises(RateLimited) as raised:
        await connector.test()
    assert raised.value.retry_after == 60


async def test_proposals_are_not_submitted_but_handed_off(connect: Connect) -> None:
    connector = connect()
    posting = (await collect(connector, JobQuery(limit=1)))[0]

    with pytest.raises(NotSupported) as raised:
        await connector.submit_proposal(
            ProposalSubmission(
                external_job_id=posting.external_id,
                cover_letter="Hello",
                amount_minor=50000,
                currency="USD",
                idempotency_key="proposal-0001",
            )
        )
    assert "hand-off" in raised.value.detail
    hand_off = connector.hand_off(posting, "Approved cover letter")
    assert hand_off.url == posting.url
    assert hand_off.text == "Approved cover letter"


async def test_authorization_code_flow_at_upworks_paths_yields_working_tokens(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    assert SANDBOX_SPEC.oauth is not None
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect_uri = "http://gigforge.test/connections/upwork/callback"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app)) as browser:
        consent = await browser.get(
            SANDBOX_SPEC.oauth.authorize_url,
            params={
                "response_type": "code",
                "client_id": "sandbox-client-id",
                "redirect_uri": redirect_uri,
                "state": "xyz",
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            },
        )
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        issued = await browser.post(
            SANDBOX_SPEC.oauth.token_url,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": "sandbox-client-id",
                "client_secret": "sandbox-client-secret",
            },
        )
    token = issued.json()["access_token"]

    user = await connect(HeaderCredentials(static_secret(token))).test()

    assert user["name"] == "Sam Sandbox"


def test_the_entry_point_loads_this_connector() -> None:
    (point,) = [p for p in entry_points(group=ENTRY_POINT_GROUP) if p.name == "upwork"]
    registry = Registry.from_entry_points([point])

    assert registry.get("upwork") is UpworkConnector
    assert UpworkConnector.spec is SPEC
