"""Won work for the jobs tests: a sent proposal, and a job worked to review."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from factories import Account, connect_oauth
from gigforge.opportunities.scanning import Scanner


async def sent_proposal(
    app: FastAPI, http: httpx.AsyncClient, account: Account, platform: str
) -> dict[str, Any]:
    """A proposal sent on `platform`: bid through Freelancer.com's API, or handed off on
    Upwork and marked sent by the user."""
    connection_id = await connect_oauth(http, account, platform)
    await Scanner(app.state.integrations).scan(uuid.UUID(connection_id))
    listed = await http.get(
        "/api/v1/jobs/opportunities", params={"platform": platform}, headers=account.headers
    )
    opportunity = listed.json()["opportunities"][0]
    drafted = await http.post(
        "/api/v1/proposals",
        json={"opportunity_id": opportunity["id"], "text": "I can do this well."},
        headers=account.headers,
    )
    proposal = drafted.json()
    await http.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=account.headers)
    await app.state.tasks.run_due()
    if platform != "freelancer":
        await http.post(f"/api/v1/proposals/{proposal['id']}/mark-sent", headers=account.headers)
    final = (await http.get(f"/api/v1/proposals/{proposal['id']}", headers=account.headers)).json()
    assert final["status"] == "submitted", final
    return dict(final)


async def won_job(
    app: FastAPI, http: httpx.AsyncClient, account: Account, platform: str = "upwork"
) -> dict[str, Any]:
    """A job made from a proposal the user marked won, accepted and worked to review."""
    proposal = await sent_proposal(app, http, account, platform)
    made = await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
    assert made.status_code == 201, made.text
    job = made.json()
    accepted = await http.post(f"/api/v1/jobs/{job['id']}/accept", headers=account.headers)
    assert accepted.status_code == 200, accepted.text
    await app.state.tasks.run_due()
    return dict((await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json())
