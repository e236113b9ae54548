"""Opportunity -> draft -> approve -> submitted exactly once (or handed off), in sandbox mode."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from factories import (
    Account,
    AppFactory,
    connect_oauth,
    connect_openai,
    grant_certification,
    register,
)
from gigforge.integrations.framework import ProposalSubmission
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow
from gigforge.opportunities.models import Opportunity
from gigforge.opportunities.scanning import Scanner
from gigforge.proposals.models import Proposal, ProposalStatus


async def _no_wait(delay: float) -> None:
    return None


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    application = await app_factory(sandbox=True)
    application.state.integrations.runtime.sleep = _no_wait
    return application


@pytest.fixture
async def http(app: FastAPI) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _draft(
    http: httpx.AsyncClient, account: Account, job: dict[str, Any], text: str | None = None
) -> dict[str, Any]:
    """`POST /proposals` for the job: the given text, or a draft by the user's AI chain."""
    body = {"opportunity_id": job["id"]} | ({"text": text} if text is not None else {})
    response = await http.post("/api/v1/proposals", json=body, headers=account.headers)
    return dict(response.json())


async def _scanned(app: FastAPI, http: httpx.AsyncClient, account: Account, slug: str) -> list:
    connection_id = await connect_oauth(http, account, slug)
    report = await Scanner(app.state.integrations).scan(uuid.UUID(connection_id))
    assert report.found > 0, report
    listed = await http.get(
        "/api/v1/jobs/opportunities", params={"platform": slug}, headers=account.headers
    )
    return list(listed.json()["opportunities"])


async def test_draft_edit_approve_and_submit_once_to_freelancer(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    await connect_openai(http, account)
    [job, *_] = await _scanned(app, http, account, "freelancer")
    drafted = await http.post(
        "/api/v1/proposals", json={"opportunity_id": job["id"]}, headers=account.headers
    )
    assert drafted.status_code == 201, drafted.text
    proposal = drafted.json()
    assert proposal["status"] == "draft"
    assert proposal["versions"][0]["author"].startswith("openai:")
    assert proposal["versions"][0]["not_ai"] is False

    # Nothing goes out before approval.
    assert await app.state.tasks.run_due() == 0
    sandbox = app.state.sandboxes["freelancer"]
    assert sandbox.bids == {}

    edited = await http.post(
        f"/api/v1/proposals/{proposal['id']}/versions",
        json={"text": "Hello, I can build this. My first step: ..."},
        headers=account.headers,
    )
    assert [v["number"] for v in edited.json()["versions"]] == [1, 2]
    approved = await http.post(
        f"/api/v1/proposals/{proposal['id']}/approve", headers=account.headers
    )
    assert approved.json()["status"] == "approved"

    assert await app.state.tasks.run_due() == 1
    final = (await http.get(f"/api/v1/proposals/{proposal['id']}", headers=account.headers)).json()
    assert final["status"] == "submitted", final
    assert len(sandbox.bids) == 1
    [bid] = sandbox.bids.values()
    assert bid["description"] == "Hello, I can build this. My first step: ..."
    assert final["external_id"] == str(bid["id"])
    audit = (await http.get("/api/v1/audit", headers=account.headers)).json()["items"]
    actions = [record["action"] for record in audit]
    assert "proposal.approved" in actions
    assert "proposal.submitted" in actions


async def test_a_worker_that_died_mid_call_does_not_bid_twice(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    [job, *_] = await _scanned(app, http, account, "freelancer")
    drafted = await _draft(http, account, job, "My proposal")
    await http.post(f"/api/v1/proposals/{drafted['id']}/approve", headers=account.headers)
    context = app.state.integrations
    # The worker claimed it and the bid reached Freelancer, then the process died.
    async with unit_of_work(context.database) as session:
        proposal = await session.get(Proposal, uuid.UUID(drafted["id"]))
        assert proposal is not None
        from gigforge.connections.models import Connection

        connection = (
            await session.execute(select(Connection).where(Connection.integration == "freelancer"))
        ).scalar_one()
        from gigforge.connections.service import connections as connection_service

        connector = await connection_service.connector(
            session, context=context, connection=connection
        )
        async with connector.client:
            await connector.submit_proposal(
                ProposalSubmission(  # type: ignore[attr-defined]
                    external_job_id=job["external_job_id"],
                    cover_letter="My proposal",
                    amount_minor=proposal.amount_minor or 1,
                    currency=proposal.currency or "USD",
                    period_days=7,
                    idempotency_key=proposal.idempotency_key,
                )
            )
        await session.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id)
            .values(status=ProposalStatus.submitting, claimed_until=utcnow() - timedelta(seconds=1))
        )
    sandbox = app.state.sandboxes["freelancer"]
    assert len(sandbox.bids) == 1
    assert await app.state.tasks.run_due() == 1
    final = (await http.get(f"/api/v1/proposals/{drafted['id']}", headers=account.headers)).json()
    assert final["status"] == "submitted"
    assert len(sandbox.bids) == 1


async def test_upwork_is_handed_off_and_marked_sent(app: FastAPI, http: httpx.AsyncClient) -> None:
    account = await register(http)
    [job, *_] = await _scanned(app, http, account, "upwork")
    drafted = (
        await http.post(
            "/api/v1/jobs/accept",
            json={
                "external_job_id": job["external_job_id"],
                "platform": "upwork",
                "custom_proposal": "Ready to help",
            },
            headers=account.headers,
        )
    ).json()
    await http.post(f"/api/v1/proposals/{drafted['id']}/approve", headers=account.headers)
    await app.state.tasks.run_due()
    handed = (await http.get(f"/api/v1/proposals/{drafted['id']}", headers=account.headers)).json()
    assert handed["status"] == "handed_off"
    assert handed["hand_off"] == {"url": job["url"], "text": "Ready to help"}
    sent = await http.post(f"/api/v1/proposals/{drafted['id']}/mark-sent", headers=account.headers)
    assert sent.json()["status"] == "submitted"


async def test_without_a_model_the_draft_comes_from_the_template_and_says_so(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    [job, *_] = await _scanned(app, http, account, "upwork")
    drafted = await _draft(http, account, job)
    [version] = drafted["versions"]
    assert version["not_ai"] is True
    assert version["author"] == "template_writer:template:proposal"
    assert job["title"] in version["text"]


async def test_auto_approve_only_within_the_caps(app: FastAPI, http: httpx.AsyncClient) -> None:
    account = await register(http)
    await grant_certification(app, account.user_id, 1)
    jobs = await _scanned(app, http, account, "upwork")
    rule = await http.put(
        "/api/v1/proposals-auto-approve",
        json={"enabled": True, "max_budget": 1_000_000, "min_score": 0, "max_per_day": 1},
        headers=account.headers,
    )
    assert rule.status_code == 200, rule.text
    statuses = []
    for job in jobs[:2]:
        drafted = await http.post(
            "/api/v1/proposals",
            json={"opportunity_id": job["id"], "text": "Hi"},
            headers=account.headers,
        )
        statuses.append((drafted.json()["status"], drafted.json()["auto_approved"]))
    assert statuses == [("approved", True), ("draft", False)]


async def test_auto_approve_leaves_a_budget_in_another_currency_to_the_user(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    await grant_certification(app, account.user_id, 1)
    [job, *_] = await _scanned(app, http, account, "upwork")
    async with unit_of_work(app.state.database) as session:  # a ¥9,000 budget: 9000 minor units
        await session.execute(
            update(Opportunity)
            .where(Opportunity.id == uuid.UUID(job["id"]))
            .values(currency="JPY", budget_min_minor=9000, budget_max_minor=9000)
        )
    await http.put(
        "/api/v1/proposals-auto-approve",
        json={"enabled": True, "max_budget": 100, "min_score": 0, "max_per_day": 5},
        headers=account.headers,
    )  # a cap of USD 100.00 is 10000 minor units: the numbers alone would let ¥9,000 through
    drafted = await http.post(
        "/api/v1/proposals",
        json={"opportunity_id": job["id"], "text": "Hi"},
        headers=account.headers,
    )
    assert (drafted.json()["status"], drafted.json()["auto_approved"]) == ("draft", False)


async def test_other_users_cannot_touch_a_proposal(app: FastAPI, http: httpx.AsyncClient) -> None:
    alice = await register(http)
    [job, *_] = await _scanned(app, http, alice, "upwork")
    drafted = await _draft(http, alice, job, "Mine")
    bob = await register(http)
    for method, path in (("GET", ""), ("POST", "/approve"), ("POST", "/withdraw")):
        response = await http.request(
            method, f"/api/v1/proposals/{drafted['id']}{path}", headers=bob.headers
        )
        assert response.status_code == 404
    other = await http.post(
        "/api/v1/proposals", json={"opportunity_id": job["id"], "text": "x"}, headers=bob.headers
    )
    assert other.status_code == 404


async def test_failures_are_retried_when_safe_and_otherwise_shown_with_the_reason(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    jobs = await _scanned(app, http, account, "freelancer")
    sandbox = app.state.sandboxes["freelancer"]
    context = app.state.integrations
    ids = []
    for job in jobs[:2]:
        drafted = await _draft(http, account, job, "Proposal")
        await http.post(f"/api/v1/proposals/{drafted['id']}/approve", headers=account.headers)
        ids.append(drafted["id"])

    sandbox.faults.error_rate = 1.0  # Freelancer is down: try again later
    await app.state.tasks.run_due()
    for proposal_id in ids:
        later = (await http.get(f"/api/v1/proposals/{proposal_id}", headers=account.headers)).json()
        assert later["status"] == "approved"
        assert later["failure_reason"]
    sandbox.faults.error_rate = 0.0
    assert context.runtime.breakers.get("freelancer").state != "closed"  # the outage tripped it
    context.runtime.breakers.get("freelancer").record_success()  # Freelancer is back
    sandbox.bids_remaining = 0  # Freelancer refuses the bid itself: not worth repeating
    async with unit_of_work(context.database) as session:  # the retry is due: its time came
        await session.execute(update(Proposal).values(due_at=utcnow()))
        await session.execute(update(TaskRow).values(due_at=utcnow()))
    await app.state.tasks.run_due()
    failed = (await http.get(f"/api/v1/proposals/{ids[0]}", headers=account.headers)).json()
    assert failed["status"] == "failed"
    assert failed["failure_reason"]
    assert sandbox.bids == {}


async def test_an_edit_can_change_the_bid_terms_and_bad_terms_are_refused(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    [job, *_] = await _scanned(app, http, account, "freelancer")
    drafted = await _draft(http, account, job, "First text")
    path = f"/api/v1/proposals/{drafted['id']}/versions"
    edited = await http.post(
        path,
        json={"text": "Second text", "amount": 310.5, "period_days": 9},
        headers=account.headers,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["amount"], body["period_days"]) == (310.5, 9)
    assert [v["text"] for v in body["versions"]] == ["First text", "Second text"]

    too_fine = await http.post(
        path, json={"text": "Third", "amount": "1.005"}, headers=account.headers
    )
    assert too_fine.status_code == 422
    assert too_fine.headers["content-type"] == "application/problem+json"
    assert too_fine.json()["detail"] == "USD amounts have at most 2 decimals."
    for bad in ({"text": "x", "amount": -5}, {"text": "x", "period_days": 0}):
        refused = await http.post(path, json=bad, headers=account.headers)
        assert refused.status_code == 422, bad
    unchanged = await http.get(f"/api/v1/proposals/{drafted['id']}", headers=account.headers)
    assert len(unchanged.json()["versions"]) == 2
    assert unchanged.json()["amount"] == 310.5
