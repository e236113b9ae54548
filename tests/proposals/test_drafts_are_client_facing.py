"""A draft is text for the client: the scoring reasons stay internal, skills come from the
user's profile, and the sandbox models write a cover letter rather than echo the prompt."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from factories import Account, AppFactory, connect_oauth, connect_openai, register
from gigforge.opportunities.scanning import Scanner


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(sandbox=True)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _job_with_reasons(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> dict[str, Any]:
    connection_id = await connect_oauth(http, account, "upwork")
    await Scanner(app.state.integrations).scan(uuid.UUID(connection_id))
    listed = await http.get(
        "/api/v1/jobs/opportunities", params={"platform": "upwork"}, headers=account.headers
    )
    jobs = [job for job in listed.json()["opportunities"] if job["cca_analysis"]["factors"]]
    jobs = [job for job in jobs if len(job["skills"]) >= 2] or jobs
    assert jobs, listed.json()
    return dict(jobs[0])


async def _draft_text(http: httpx.AsyncClient, account: Account, job: dict[str, Any]) -> str:
    drafted = await http.post(
        "/api/v1/proposals", json={"opportunity_id": job["id"]}, headers=account.headers
    )
    assert drafted.status_code == 201, drafted.text
    return str(drafted.json()["versions"][-1]["text"])


async def test_a_template_draft_uses_matching_profile_skills_and_no_scoring_reasons(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    job = await _job_with_reasons(app, http, account)
    mine = job["skills"][0]
    profile = await http.put(
        "/api/v1/users/me/profile",
        json={"skills": [mine, "cobol"]},
        headers=account.headers,
    )
    assert profile.status_code == 200, profile.text

    text = await _draft_text(http, account, job)

    assert job["title"] in text
    for reason in job["cca_analysis"]["factors"]:
        assert reason not in text
    assert "Relevant experience" not in text
    assert f"You are looking for {mine}, which is the work I do day to day." in text
    assert "cobol" not in text
    for other in job["skills"][1:]:
        assert other not in text.split("You are looking for")[1].split("\n")[0]


async def test_a_template_draft_without_a_profile_claims_no_skills(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    job = await _job_with_reasons(app, http, account)

    text = await _draft_text(http, account, job)

    assert "You are looking for" not in text
    for reason in job["cca_analysis"]["factors"]:
        assert reason not in text


async def test_a_sandbox_model_drafts_a_cover_letter_not_an_echo_of_the_brief(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    account = await register(http)
    await connect_openai(http, account)
    job = await _job_with_reasons(app, http, account)

    text = await _draft_text(http, account, job)

    assert text.startswith("Hello")
    assert f'Thank you for posting "{job["title"]}".' in text
    assert "Echo" not in text
    assert "Job title:" not in text
    for reason in job["cca_analysis"]["factors"]:
        assert reason not in text
    assert text.endswith("Best regards,\nAda Lovelace")  # the name masked, then restored
