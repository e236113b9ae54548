"""Freelancer.com awards: read from the bids, accepted through the API only after the user
confirms, and delivered as a message with the files attached, once."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from factories import Account
from gigforge.jobs import awards
from job_support import sent_proposal


async def _award_checked(app: FastAPI) -> None:
    await awards.plan_checks(app.state.integrations)
    await app.state.tasks.run_due()


async def test_an_award_becomes_a_job_accepted_only_when_the_user_confirms(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, http, account, "freelancer")
    sandbox = app.state.sandboxes["freelancer"]
    await _award_checked(app)
    listed = (await http.get("/api/v1/jobs", headers=account.headers)).json()
    assert listed["total"] == 1, listed
    [job] = listed["jobs"]
    assert job["source"] == "award"
    assert job["status"] == "pending"
    assert job["proposal_id"] == proposal["id"]
    bid = sandbox.bids[int(proposal["external_id"])]
    assert not bid.get("time_accepted")  # nothing is accepted before the user says so

    await _award_checked(app)  # a second check makes no second job
    assert (await http.get("/api/v1/jobs", headers=account.headers)).json()["total"] == 1

    accepted = (await http.post(f"/api/v1/jobs/{job['id']}/accept", headers=account.headers)).json()
    assert accepted["status"] == "pending"  # the platform is asked first, in the background
    await app.state.tasks.run_due()
    assert sandbox.bids[int(proposal["external_id"])].get("time_accepted")
    review = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert review["status"] == "review", review

    await http.post(f"/api/v1/jobs/{job['id']}/approve", headers=account.headers)
    await http.post(f"/api/v1/jobs/{job['id']}/deliver", headers=account.headers)
    await app.state.tasks.run_due()
    delivered = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert delivered["status"] == "delivered", delivered
    [delivery] = delivered["deliveries"]
    assert delivery["channel"] == "freelancer_message"
    assert delivery["status"] == "sent"
    sent = [m for m in sandbox.messages.values() if delivery["reference"] in m["message"]]
    assert len(sent) == 1
    names = {item["name"] for item in delivered["tasks"][0]["output"]}
    assert {a["filename"] for a in sent[0]["attachments"]} == names


async def test_a_revoked_award_leaves_the_job_pending_with_the_reason(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, http, account, "freelancer")
    await _award_checked(app)
    [job] = (await http.get("/api/v1/jobs", headers=account.headers)).json()["jobs"]
    app.state.sandboxes["freelancer"].revoke(int(proposal["external_id"]))
    await http.post(f"/api/v1/jobs/{job['id']}/accept", headers=account.headers)
    await app.state.tasks.run_due()
    after = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert after["status"] == "pending"
    assert "revoked" in after["note"]
    assert after["tasks"] == []
