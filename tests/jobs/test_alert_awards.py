"""Awards read from alert emails: they name the project, not the bid. A proposal sent for that
project becomes its job; work won without one (a Fiverr order) becomes a job of its own. Each
once, however often the email is read."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from factories import Account
from gigforge.integrations.framework.capabilities import Award
from gigforge.jobs.awards import _job_for
from gigforge.kit.db import unit_of_work
from job_support import sent_proposal


async def _read(app: FastAPI, account: Account, award: Award) -> int:
    async with unit_of_work(app.state.database) as session:
        return await _job_for(session, uuid.UUID(account.user_id), award, source="alert")


async def test_an_alert_for_a_handed_off_proposals_project_makes_its_job_once(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, http, account, "upwork")
    opportunity = (
        await http.get(
            f"/api/v1/jobs/opportunities/{proposal['opportunity_id']}", headers=account.headers
        )
    ).json()
    award = Award(
        platform="upwork",
        external_bid_id=opportunity["external_job_id"],
        external_project_id=opportunity["external_job_id"],
        status="accepted",
    )
    assert await _read(app, account, award) == 1
    assert await _read(app, account, award) == 0
    [job] = (await http.get("/api/v1/jobs", headers=account.headers)).json()["jobs"]
    assert job["proposal_id"] == proposal["id"]
    assert job["source"] == "alert"
    assert job["status"] == "pending"  # the user confirms before any agent starts


async def test_a_fiverr_order_without_a_proposal_becomes_a_pending_job_once(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    award = Award(
        platform="fiverr",
        external_bid_id="FO1234ABCD",
        external_project_id="FO1234ABCD",
        status="accepted",
        title="Write three blog posts about home gardening",
        amount_minor=12000,
        currency="USD",
        url="https://www.fiverr.com/users/me/manage_orders/FO1234ABCD",
    )
    assert await _read(app, account, award) == 1
    assert await _read(app, account, award) == 0
    [job] = (await http.get("/api/v1/jobs", headers=account.headers)).json()["jobs"]
    assert job["title"] == "Write three blog posts about home gardening"
    assert job["platform"] == "fiverr"
    assert job["budget"] == 120.0
    assert job["proposal_id"] is None
    assert job["status"] == "pending"


async def test_an_api_offer_on_no_proposal_of_the_users_makes_no_job(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    offer = Award(
        platform="upwork", external_bid_id="9001", external_project_id="~0123", status="awarded"
    )
    async with unit_of_work(app.state.database) as session:
        made = await _job_for(session, uuid.UUID(account.user_id), offer, source="award")
    assert made == 0
    assert (await http.get("/api/v1/jobs", headers=account.headers)).json()["total"] == 0
