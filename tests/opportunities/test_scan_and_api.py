"""Scan sources into opportunities, then read them back through the API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import Account, AppFactory, connect_oauth, register, stored_events
from gigforge.connections.context import IntegrationContext
from gigforge.integrations.framework import Budget, BudgetKind, JobPosting
from gigforge.integrations.freelancer import FreelancerConnector
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.models import Opportunity, SourceSchedule
from gigforge.opportunities.scanning import Scanner, ScanReport

OPPORTUNITIES = "/api/v1/jobs/opportunities"
TOPICS = [
    "",
    "Migrate a legacy PHP shop to a headless commerce backend with search and carts.",
    "Train a churn model on subscription data and publish a weekly dashboard for sales.",
    "Write firmware for a soil moisture sensor that reports over LoRaWAN every hour.",
    "Build a Chrome extension that summarises long articles into three bullet points.",
    "Design onboarding emails and a drip campaign for a yoga studio's new members.",
    "Set up Kubernetes autoscaling and Grafana alerts for a video transcoding farm.",
    "Create an iOS habit tracker with streaks, reminders and an Apple Watch widget.",
    "Translate a 40 page legal contract from German to English with a glossary.",
    "Automate invoice reconciliation between Stripe payouts and a Xero ledger.",
]


async def _connect_upwork(client: httpx.AsyncClient, account: Account) -> str:
    from urllib.parse import parse_qs, urlsplit

    start = await client.get(
        "/api/v1/connections/upwork/authorize",
        params={"redirect": "false"},
        headers=account.headers,
    )
    url = urlsplit(start.json()["authorize_url"])
    consent = await client.get(f"{url.path}?{url.query}")
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    done = await client.get(
        "/api/v1/connections/upwork/callback",
        params={"code": back["code"][0], "state": back["state"][0]},
        headers=account.headers,
    )
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


@pytest.fixture
async def sandbox_app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(sandbox=True)


@pytest.fixture
async def http(sandbox_app: FastAPI) -> Any:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_scanning_upwork_stores_scored_opportunities_and_emits_events(
    sandbox_app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    await http.put(
        "/api/v1/users/me/profile",
        json={"skills": ["python", "django"], "hourly_rate": 60, "min_budget": 500},
        headers=account.headers,
    )
    connection_id = await _connect_upwork(http, account)
    context: IntegrationContext = sandbox_app.state.integrations
    report = await Scanner(context).scan(uuid.UUID(connection_id))
    assert report.error is None
    assert report.found > 0
    found = await stored_events(sandbox_app, "opportunity.found")
    assert len(found) == report.found
    assert {event.user_id for event in found} == {uuid.UUID(account.user_id)}

    listed = (await http.get(OPPORTUNITIES, headers=account.headers)).json()
    assert listed["total"] == report.found
    first = listed["opportunities"][0]
    assert {"external_job_id", "platform", "title", "budget", "deadline", "cca_analysis"} <= set(
        first
    )
    analysis = first["cca_analysis"]
    assert 1 <= analysis["complexity_score"] <= 5
    assert 0 <= analysis["success_probability"] <= 1
    assert analysis["estimated_hours"] > 0
    assert analysis["factors"]

    again = await Scanner(context).scan(uuid.UUID(connection_id))
    assert again.found == 0


async def test_each_new_listing_has_one_durable_event_written_with_it(
    sandbox_app: FastAPI, http: httpx.AsyncClient
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    account = await register(http)
    connection_id = await connect_oauth(http, account, "freelancer")

    report = await Scanner(context, batch_size=2).scan(uuid.UUID(connection_id))

    assert report.error is None
    assert report.found == 7
    events = await stored_events(sandbox_app, "opportunity.found")
    announced = [uuid.UUID(event.payload["opportunity_id"]) for event in events]
    assert len(set(announced)) == 7
    async with unit_of_work(context.database) as session:
        for opportunity_id in announced:
            assert await session.get(Opportunity, opportunity_id) is not None


async def test_listings_another_scan_stored_meanwhile_are_kept_once_with_one_event(
    sandbox_app: FastAPI, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    account = await register(http)
    connection_id = uuid.UUID(await connect_oauth(http, account, "freelancer"))
    first = await Scanner(context).scan(connection_id)
    assert first.found == 7

    # The next scan looks its listings up before another transaction commits the same ones:
    # its lookup finds nothing, and its insert meets theirs.
    from gigforge.opportunities.repository import OpportunityRepository

    async def nothing_stored_yet(*_args: object, **_kwargs: object) -> dict[str, Opportunity]:
        return {}

    monkeypatch.setattr(OpportunityRepository, "existing", nothing_stored_yet)
    async with unit_of_work(context.database) as session:  # read the source from the top
        await session.execute(delete(SourceSchedule))
    raced = await Scanner(context).scan(connection_id)

    assert raced.error is None
    assert (raced.found, raced.duplicates, raced.updated) == (0, 0, 7)
    assert len(await stored_events(sandbox_app, "opportunity.found")) == 7
    async with unit_of_work(context.database) as session:
        assert await session.scalar(select(func.count()).select_from(Opportunity)) == 7


async def test_a_repost_in_a_later_batch_of_the_same_scan_is_linked_to_its_original(
    sandbox_app: FastAPI, http: httpx.AsyncClient
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    sandbox = sandbox_app.state.sandboxes["freelancer"]
    newest = sandbox.projects[40100001]
    repost = {**newest, "id": 40100099, "time_updated": 1, "time_submitted": 1}
    sandbox.projects[repost["id"]] = repost
    account = await register(http)
    connection_id = await connect_oauth(http, account, "freelancer")

    report = await Scanner(context, batch_size=2).scan(uuid.UUID(connection_id))

    assert (report.found, report.duplicates) == (7, 1)
    async with unit_of_work(context.database) as session:
        rows = {
            row.external_id: row for row in (await session.execute(select(Opportunity))).scalars()
        }
    assert rows["40100099"].duplicate_of_id == rows["40100001"].id


async def test_a_source_failing_mid_scan_keeps_the_batches_stored_and_their_cursor(
    sandbox_app: FastAPI, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    context.runtime.sleep = _no_wait
    monkeypatch.setattr(FreelancerConnector, "page_size", 2)
    sandbox = sandbox_app.state.sandboxes["freelancer"]
    template = sandbox.projects[40100001]
    for number in range(40):
        sandbox.projects[50_000_000 + number] = {
            **template,
            "id": 50_000_000 + number,
            "title": f"{TOPICS[number % len(TOPICS)]} ({number})",
            "time_updated": 1_000_000 - number,
        }
    faults = sandbox.faults
    account = await register(http)
    connection_id = uuid.UUID(await connect_oauth(http, account, "freelancer"))

    def fail_from_now_on(seen: int) -> None:
        faults.error_rate = 1.0

    report = await Scanner(context, batch_size=2).scan(connection_id, progress=fail_from_now_on)

    assert report.error is not None
    assert 2 <= report.seen < 47
    async with unit_of_work(context.database) as session:
        stored = (await session.execute(select(func.count()).select_from(Opportunity))).scalar_one()
        schedule = await session.get(SourceSchedule, connection_id)
    assert stored == report.found + report.duplicates
    assert schedule is not None
    assert schedule.cursor == str(report.seen)


async def _schedule(context: IntegrationContext, connection_id: uuid.UUID) -> SourceSchedule:
    async with unit_of_work(context.database) as session:
        schedule = await session.get(SourceSchedule, connection_id)
    assert schedule is not None
    return schedule


async def test_a_search_read_to_its_end_starts_the_next_scan_from_the_top(
    sandbox_app: FastAPI, http: httpx.AsyncClient
) -> None:
    """A search position (Freelancer's offset) belongs to one search: the next scan searches
    from a later time, and resuming at the old offset there would skip new listings."""
    context: IntegrationContext = sandbox_app.state.integrations
    sandbox = sandbox_app.state.sandboxes["freelancer"]
    account = await register(http)
    connection_id = uuid.UUID(await connect_oauth(http, account, "freelancer"))

    first = await Scanner(context).scan(connection_id)
    assert (first.error, first.found) == (None, 7)
    schedule = await _schedule(context, connection_id)
    assert schedule.cursor is None
    assert schedule.last_run_at is not None

    posted = int(datetime.now(UTC).timestamp()) + 60
    template = sandbox.projects[40100001]
    sandbox.projects[50_000_001] = {
        **template,
        "id": 50_000_001,
        "title": TOPICS[3],
        "description": TOPICS[3],
        "time_submitted": posted,
        "time_updated": posted,
    }
    second = await Scanner(context).scan(connection_id)
    assert (second.error, second.seen, second.found) == (None, 1, 1)


async def test_a_search_stopped_early_resumes_where_it_stopped_then_rereads_from_the_top(
    sandbox_app: FastAPI, http: httpx.AsyncClient
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    account = await register(http)
    connection_id = uuid.UUID(await connect_oauth(http, account, "freelancer"))

    cut = await Scanner(context, max_postings=3).scan(connection_id)
    assert (cut.seen, cut.found) == (3, 3)
    schedule = await _schedule(context, connection_id)
    assert (schedule.cursor, schedule.last_run_at) == ("3", None)

    resumed = await Scanner(context).scan(connection_id)
    assert (resumed.error, resumed.seen, resumed.found) == (None, 4, 4)
    # Listings posted while the search was stopped sit ahead of its position; the next scan
    # reads the same window from the top rather than moving on past them.
    schedule = await _schedule(context, connection_id)
    assert (schedule.cursor, schedule.last_run_at) == (None, None)

    whole = await Scanner(context).scan(connection_id)
    assert (whole.seen, whole.found, whole.updated) == (7, 0, 7)
    assert (await _schedule(context, connection_id)).last_run_at is not None


async def test_a_listing_seen_again_takes_its_new_text_and_score_but_keeps_when_it_was_found(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await register(client)
    await _store(app, session, account.user_id, [_posting("upwork", "u1", "Build an API")])
    first = (await session.execute(select(Opportunity))).scalar_one()
    found_at, fingerprint = first.first_seen_at, first.fingerprint
    assert first.features["skill_match"] == 1.0

    again = await _store(
        app,
        session,
        account.user_id,
        [_posting("upwork", "u1", "Build an API in Django", skills=("python", "django"))],
    )

    assert (again.found, again.updated) == (0, 1)
    session.expire_all()
    row = (await session.execute(select(Opportunity))).scalar_one()
    assert row.title == "Build an API in Django"
    assert row.skills == ["python", "django"]
    assert row.skills_text == "|python|django|"
    assert row.features["skill_match"] == 0.5
    assert (row.first_seen_at, row.fingerprint) == (found_at, fingerprint)


async def _no_wait(delay: float) -> None:
    return None


async def _store(
    app: FastAPI, session: AsyncSession, user_id: str, postings: list[JobPosting]
) -> ScanReport:
    context: IntegrationContext = app.state.integrations
    report = ScanReport(uuid.uuid4(), "test", "test")
    from gigforge.opportunities.analysis import PRIOR
    from gigforge.opportunities.types import MatchingProfile

    await Scanner(context).store(
        session,
        postings,
        user_id=uuid.UUID(user_id),
        connection_id=None,
        profile=MatchingProfile(skills=("python",)),
        weights=PRIOR,
        report=report,
    )
    await session.commit()
    return report


def _posting(platform: str, external_id: str, title: str, **extra: Any) -> JobPosting:
    values: dict[str, Any] = {
        "platform": platform,
        "external_id": external_id,
        "url": f"https://{platform}.example/jobs/{external_id}",
        "title": title,
        "description": extra.pop(
            "description",
            f"{title}. We need an experienced developer to build and document a REST API "
            "with authentication, tests and deployment scripts for our logistics startup.",
        ),
        "skills": extra.pop("skills", ("python",)),
        "posted_at": extra.pop("posted_at", datetime(2026, 11, 1, tzinfo=UTC)),
    }
    values.update(extra)
    return JobPosting(**values)


async def test_dedupe_within_and_across_platforms(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await register(client)
    first = await _store(
        app,
        session,
        account.user_id,
        [
            _posting("upwork", "u1", "Build a logistics REST API"),
            _posting("upwork", "u1", "Build a logistics REST API"),
        ],
    )
    assert (first.found, first.duplicates) == (1, 0)
    again = await _store(
        app,
        session,
        account.user_id,
        [_posting("upwork", "u1", "Build a logistics REST API (updated)")],
    )
    assert (again.found, again.updated) == (0, 1)
    cross = await _store(
        app,
        session,
        account.user_id,
        [
            _posting("freelancer", "f9", "Build a logistics REST API!"),
            _posting(
                "freelancer",
                "f10",
                "Design a mobile game",
                description="Unity 3D platformer "
                "with levels, characters, sound design and an in-app store for iOS.",
            ),
        ],
    )
    assert (cross.found, cross.duplicates) == (1, 1)
    listed = (await client.get(OPPORTUNITIES, headers=account.headers)).json()
    assert listed["total"] == 2
    everything = (
        await client.get(
            OPPORTUNITIES, params={"include_duplicates": "true"}, headers=account.headers
        )
    ).json()
    duplicates = [o for o in everything["opportunities"] if o["duplicate_of"]]
    assert len(duplicates) == 1
    assert duplicates[0]["platform"] == "freelancer"
    count = (await session.execute(select(func.count()).select_from(Opportunity))).scalar_one()
    assert count == 3


async def test_filters_sort_and_paging(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await register(client)
    postings = [
        _posting(
            "upwork" if index % 2 else "freelancer",
            f"id{index}",
            f"Job number {index} " + ("django" if index % 3 == 0 else "react"),
            description=TOPICS[index] + f" Reference unique{index}.",
            skills=("django",) if index % 3 == 0 else ("react",),
            budget=Budget(
                kind=BudgetKind.fixed,
                currency="USD",
                min_minor=index * 10_000,
                max_minor=index * 10_000 + 5_000,
            ),
            posted_at=datetime(2026, 11, 1 + index, tzinfo=UTC),
        )
        for index in range(1, 10)
    ]
    await _store(app, session, account.user_id, postings)

    async def ids(**params: Any) -> list[str]:
        response = await client.get(OPPORTUNITIES, params=params, headers=account.headers)
        assert response.status_code == 200, response.text
        return [o["external_job_id"] for o in response.json()["opportunities"]]

    assert await ids() == [f"id{i}" for i in range(9, 0, -1)]
    assert await ids(sort="posted_at") == [f"id{i}" for i in range(1, 10)]
    assert await ids(platform="upwork") == ["id9", "id7", "id5", "id3", "id1"]
    assert await ids(min_budget=600, max_budget=800) == ["id8", "id7", "id6"]
    assert await ids(skills="django") == ["id9", "id6", "id3"]
    assert await ids(q="UNIQUE4") == ["id4"]
    assert await ids(posted_after="2026-11-08T12:00:00Z") == ["id9", "id8"]
    assert await ids(sort="-budget", limit=2) == ["id9", "id8"]
    assert await ids(sort="-budget", limit=2, offset=2) == ["id7", "id6"]
    scores = (
        await client.get(OPPORTUNITIES, params={"sort": "-score"}, headers=account.headers)
    ).json()["opportunities"]
    probabilities = [o["cca_analysis"]["success_probability"] for o in scores]
    assert probabilities == sorted(probabilities, reverse=True)
    high = await ids(min_score=probabilities[2])
    assert len(high) >= 3
    bad = await client.get(OPPORTUNITIES, params={"sort": "nonsense"}, headers=account.headers)
    assert bad.status_code == 422


async def test_users_see_only_their_own_opportunities(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    alice = await register(client)
    bob = await register(client)
    await _store(app, session, alice.user_id, [_posting("upwork", "a1", "Alice's job")])
    theirs = (await client.get(OPPORTUNITIES, headers=alice.headers)).json()["opportunities"][0]
    assert (await client.get(OPPORTUNITIES, headers=bob.headers)).json()["total"] == 0
    path = f"{OPPORTUNITIES}/{theirs['id']}"
    assert (await client.get(path, headers=bob.headers)).status_code == 404
    assert (await client.post(f"{path}/dismiss", headers=bob.headers)).status_code == 404
    assert (await client.get(path, headers=alice.headers)).status_code == 200


async def test_dismiss_hides_and_outcomes_refit_the_model(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await register(client)
    await _store(
        app,
        session,
        account.user_id,
        [
            _posting("upwork", "j1", "Python API"),
            _posting(
                "upwork",
                "j2",
                "Other python work",
                description="Something else entirely about data pipelines and ETL jobs.",
            ),
        ],
    )
    listed = (await client.get(OPPORTUNITIES, headers=account.headers)).json()["opportunities"]
    dismissed = await client.post(
        f"{OPPORTUNITIES}/{listed[0]['id']}/dismiss", headers=account.headers
    )
    assert dismissed.json()["dismissed"] is True
    assert (await client.get(OPPORTUNITIES, headers=account.headers)).json()["total"] == 1
    won = await client.post(
        f"{OPPORTUNITIES}/{listed[1]['id']}/outcome",
        json={"outcome": "won"},
        headers=account.headers,
    )
    assert won.status_code == 200
    profile = (await client.get("/api/v1/users/me/profile", headers=account.headers)).json()
    assert profile["model"] == "learned"
    assert profile["outcomes_learned"] == 1


async def test_profile_round_trip_and_validation(client: httpx.AsyncClient) -> None:
    account = await register(client)
    empty = (await client.get("/api/v1/users/me/profile", headers=account.headers)).json()
    assert empty["model"] == "prior"
    body = {
        "skills": ["Python", "python", "Django"],
        "hourly_rate": 55.5,
        "min_budget": 300,
        "currency": "eur",
        "excluded_keywords": ["WordPress"],
    }
    saved = await client.put("/api/v1/users/me/profile", json=body, headers=account.headers)
    assert saved.status_code == 200, saved.text
    assert saved.json()["skills"] == ["python", "django"]
    assert saved.json()["hourly_rate"] == 55.5
    assert saved.json()["currency"] == "EUR"
    bad = await client.put(
        "/api/v1/users/me/profile", json={"hourly_rate": -1}, headers=account.headers
    )
    assert bad.status_code == 422
