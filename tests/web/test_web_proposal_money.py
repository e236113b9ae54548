"""Amounts on the dashboard: one rule for bids, one format everywhere, budgets kept as ranges,
and outcomes recorded from the opportunity page."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from factories import Account, register
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.models import Opportunity
from gigforge.opportunities.scanning import Scanner
from gigforge.proposals.models import Proposal, ProposalVersion
from web_support import connect_and_scan, csrf_of, sign_in

ROW = re.compile(r'id="opportunity-([0-9a-f-]{36})"')
PROPOSAL_PATH = re.compile(r"^/proposals/([0-9a-f-]{36})$")


async def _drafted(app: FastAPI, web: httpx.AsyncClient) -> tuple[Account, str]:
    account = await register(web)
    await connect_and_scan(app, web, account, "freelancer")
    await sign_in(web, account)
    board = await web.get("/opportunities", params={"platform": "freelancer"})
    opportunity_id = ROW.findall(board.text)[0]
    page = await web.get(f"/opportunities/{opportunity_id}")
    drafted = await web.post(
        f"/opportunities/{opportunity_id}/proposals", data={"csrf_token": csrf_of(page.text)}
    )
    found = PROPOSAL_PATH.match(drafted.headers["location"])
    assert found is not None
    return account, found.group(1)


async def _save(web: httpx.AsyncClient, proposal_id: str, amount: str) -> httpx.Response:
    page = await web.get(f"/proposals/{proposal_id}")
    return await web.post(
        f"/proposals/{proposal_id}/versions",
        data={"csrf_token": csrf_of(page.text), "text": "My offer", "amount": amount},
    )


@pytest.mark.parametrize("amount", ["1e17", "99999999999999999999999", "10000000.01"])
async def test_a_bid_over_the_cap_in_the_editor_is_a_form_message_not_a_500(
    sandbox_app: FastAPI, web: httpx.AsyncClient, amount: str
) -> None:
    _, proposal_id = await _drafted(sandbox_app, web)
    async with unit_of_work(sandbox_app.state.database) as session:
        before = await session.get(Proposal, uuid.UUID(proposal_id))
        assert before is not None
        amount_before, currency = before.amount_minor, before.currency

    refused = await _save(web, proposal_id, amount)

    assert refused.status_code == 422
    assert f"A bid can be at most {currency} 10,000,000.00." in refused.text
    assert 'id="e-amount"' in refused.text
    assert f'value="{amount}"' in refused.text  # what was typed stays in the field
    async with unit_of_work(sandbox_app.state.database) as session:
        after = await session.get(Proposal, uuid.UUID(proposal_id))
        assert after is not None
        assert after.amount_minor == amount_before
        versions = await session.scalar(
            select(func.count()).where(ProposalVersion.proposal_id == after.id)
        )
    assert versions == 1


async def test_the_queue_shows_amounts_with_thousands_separators(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, proposal_id = await _drafted(sandbox_app, web)
    saved = await _save(web, proposal_id, "1400")
    assert saved.status_code == 303

    queue = await web.get("/proposals")

    assert re.search(r"[A-Z]{3} 1,400\.00<", queue.text), queue.text
    assert "1400.00" not in queue.text
    assert 'data-label="Amount"' in queue.text  # each cell names its column on a phone


async def _remotive(app: FastAPI, web: httpx.AsyncClient) -> Account:
    account = await register(web)
    created = await web.post(
        "/api/v1/connections",
        json={"integration": "remotive", "config": {}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    report = await Scanner(app.state.integrations).scan(uuid.UUID(created.json()["id"]))
    assert report.found > 0
    await sign_in(web, account)
    return account


async def _opportunity_id(app: FastAPI, external_id: str) -> uuid.UUID:
    async with unit_of_work(app.state.database) as session:
        found = await session.scalar(
            select(Opportunity.id).where(Opportunity.external_id == external_id)
        )
    assert found is not None
    return found


async def test_a_salary_range_is_shown_as_a_yearly_range_and_an_hourly_rate_per_hour(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    await _remotive(sandbox_app, web)

    board = await web.get("/opportunities", params={"platform": "remotive"})
    assert "USD 90,000.00\u2013120,000.00 a year" in board.text
    assert "USD 45.00 an hour" in board.text
    assert "(fixed)" not in board.text
    salaried = await _opportunity_id(sandbox_app, "1950001")
    page = await web.get(f"/opportunities/{salaried}")
    assert "USD 90,000.00\u2013120,000.00 a year" in page.text


async def test_recording_an_outcome_shows_it_and_refits_the_scoring_model(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await _remotive(sandbox_app, web)
    opportunity_id = await _opportunity_id(sandbox_app, "1950001")
    page = await web.get(f"/opportunities/{opportunity_id}")
    assert "Not recorded yet." in page.text
    token = csrf_of(page.text)

    recorded = await web.post(
        f"/opportunities/{opportunity_id}/outcome", data={"csrf_token": token, "outcome": "won"}
    )

    assert recorded.status_code == 303
    page = await web.get(f"/opportunities/{opportunity_id}")
    assert "You won this job." in page.text
    assert 'value="won" class="secondary" aria-pressed="true"' in page.text
    api = await web.get(f"/api/v1/jobs/opportunities/{opportunity_id}", headers=account.headers)
    assert api.json()["outcome"] == "won"
    profile = await web.get("/api/v1/users/me/profile", headers=account.headers)
    assert profile.json()["outcomes_learned"] == 1

    refused = await web.post(
        f"/opportunities/{opportunity_id}/outcome",
        data={"csrf_token": token, "outcome": "maybe"},
    )
    assert refused.status_code == 422
    assert "Choose won, lost or not pursued." in refused.text
    changed = await web.post(
        f"/opportunities/{opportunity_id}/outcome", data={"csrf_token": token, "outcome": "lost"}
    )
    assert changed.status_code == 303
    assert "You did not win this job." in (await web.get(f"/opportunities/{opportunity_id}")).text
