"""Won work -> job -> agents -> quality gate -> approve -> deliver, over the API in sandbox mode."""

from __future__ import annotations

import io
import zipfile

import httpx
from fastapi import FastAPI

from factories import Account, stored_events
from job_support import sent_proposal, won_job


async def test_a_proposal_marked_won_becomes_a_job_the_agents_do_and_the_user_delivers(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, http, account, "upwork")
    made = await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
    assert made.status_code == 201, made.text
    job = made.json()
    assert job["status"] == "pending"
    assert job["source"] == "marked_won"
    assert job["tasks"] == []
    won = (await http.get(f"/api/v1/proposals/{proposal['id']}", headers=account.headers)).json()
    assert won["status"] == "won"
    # Marking it won twice is the same job.
    again = await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
    assert again.json()["id"] == job["id"]

    accepted = (await http.post(f"/api/v1/jobs/{job['id']}/accept", headers=account.headers)).json()
    assert accepted["status"] == "active"
    [task] = accepted["tasks"]
    assert task["status"] == "queued"

    await app.state.tasks.run_due()
    review = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert review["status"] == "review", review
    assert review["progress"] == 1.0
    [task] = review["tasks"]
    assert task["status"] in {"done", "below_threshold"}
    assert task["quality_score"] is not None
    assert len(task["report"]["samples"]) >= 3
    assert task["output"], task
    [first, *_] = task["output"]
    assert first["version"] == 1
    assert first["download_url"]
    downloaded = await http.get(first["download_url"])
    assert downloaded.status_code == 200
    assert len(downloaded.content) == first["size"]

    approved = (
        await http.post(f"/api/v1/jobs/{job['id']}/approve", headers=account.headers)
    ).json()
    assert approved["approved"] is True
    queued = await http.post(f"/api/v1/jobs/{job['id']}/deliver", headers=account.headers)
    assert queued.status_code == 202, queued.text
    twice = await http.post(f"/api/v1/jobs/{job['id']}/deliver", headers=account.headers)
    assert twice.status_code == 409
    await app.state.tasks.run_due()

    delivered = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert delivered["status"] == "delivered"
    [delivery] = delivered["deliveries"]
    assert delivery["channel"] == "hand_off"
    assert delivery["status"] == "handed_off"
    assert delivery["reference"] in delivery["message"]
    package = await http.get(delivery["package_url"])
    names = zipfile.ZipFile(io.BytesIO(package.content)).namelist()
    assert "MESSAGE.txt" in names
    assert first["name"] in names

    completed = await http.post(f"/api/v1/jobs/{job['id']}/complete", headers=account.headers)
    assert completed.json()["status"] == "completed"
    statuses = [
        (row.payload["previous"], row.payload["status"])
        for row in await stored_events(app, "job.status_changed")
    ]
    assert statuses == [
        ("pending", "active"),
        ("active", "in_progress"),
        ("in_progress", "review"),
        ("review", "delivered"),
        ("delivered", "completed"),
    ]
    audit = (await http.get("/api/v1/audit", headers=account.headers)).json()["items"]
    actions = {record["action"] for record in audit}
    assert {"job.created", "job.approved", "job.delivered", "proposal.won"} <= actions


async def test_an_illegal_transition_answers_409_problem_json(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, http, account, "upwork")
    job = (
        await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
    ).json()
    for action in ("approve", "deliver", "complete"):
        answer = await http.post(f"/api/v1/jobs/{job['id']}/{action}", headers=account.headers)
        assert answer.status_code == 409, (action, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"] == "urn:gigforge:problem:invalid-job-state"
    revision = await http.post(
        f"/api/v1/jobs/{job['id']}/request-revision",
        json={"feedback": "More detail"},
        headers=account.headers,
    )
    assert revision.status_code == 409
    unchanged = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert unchanged["status"] == "pending"
    assert await stored_events(app, "job.status_changed") == []


async def test_deliver_needs_approval(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job = await won_job(app, http, account)
    assert job["status"] == "review"
    refused = await http.post(f"/api/v1/jobs/{job['id']}/deliver", headers=account.headers)
    assert refused.status_code == 409
    assert "Approve" in refused.json()["detail"]


async def test_a_revision_cycle_keeps_its_history(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job = await won_job(app, http, account)
    [task] = job["tasks"]
    first_names = {item["name"] for item in task["output"]}
    revised = await http.post(
        f"/api/v1/jobs/{job['id']}/request-revision",
        json={"feedback": "Make the introduction shorter."},
        headers=account.headers,
    )
    assert revised.json()["status"] == "in_progress"
    assert revised.json()["revision"] == 1
    await app.state.tasks.run_due()

    again = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert again["status"] == "review"
    assert [(r["number"], r["feedback"]) for r in again["revisions"]] == [
        (0, None),
        (1, "Make the introduction shorter."),
    ]
    [task] = again["tasks"]
    assert task["version"] == 2
    deliverables = (
        await http.get(f"/api/v1/jobs/{job['id']}/deliverables", headers=account.headers)
    ).json()["deliverables"]
    by_version: dict[int, set[str]] = {}
    for item in deliverables:
        by_version.setdefault(item["version"], set()).add(item["name"])
    assert by_version == {1: first_names, 2: first_names}
    second = [item for item in deliverables if item["version"] == 2]
    assert {item["feedback"] for item in second} == {"Make the introduction shorter."}
    assert {item["revision"] for item in second} == {1}


async def test_another_users_job_is_not_found(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    from factories import register

    proposal = await sent_proposal(app, http, account, "upwork")
    job = (
        await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
    ).json()
    other = await register(http)
    for method, path in (
        ("GET", f"/api/v1/jobs/{job['id']}"),
        ("POST", f"/api/v1/jobs/{job['id']}/accept"),
        ("GET", f"/api/v1/jobs/{job['id']}/deliverables"),
    ):
        answer = await http.request(method, path, headers=other.headers)
        assert answer.status_code == 404, (path, answer.text)
    listed = (await http.get("/api/v1/jobs", headers=other.headers)).json()
    assert listed["total"] == 0


async def test_an_autonomous_job_needs_level_two_then_delivers_itself(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    from factories import grant_certification

    proposal = await sent_proposal(app, http, account, "upwork")
    job = (
        await http.post(f"/api/v1/proposals/{proposal['id']}/won", headers=account.headers)
    ).json()
    refused = await http.post(
        f"/api/v1/jobs/{job['id']}/accept", json={"autonomous": True}, headers=account.headers
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "urn:gigforge:problem:certification-required"

    await grant_certification(app, account.user_id, 2)  # and level 1 below it
    accepted = await http.post(
        f"/api/v1/jobs/{job['id']}/accept", json={"autonomous": True}, headers=account.headers
    )
    assert accepted.json()["autonomous"] is True
    await app.state.tasks.run_due()  # the agents, then the delivery nobody had to approve
    done = (await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json()
    assert [task["status"] for task in done["tasks"]] == ["done"]
    assert done["status"] == "delivered", done
    [delivery] = done["deliveries"]
    assert delivery["channel"] == "hand_off"
    audit = (await http.get("/api/v1/audit", headers=account.headers)).json()["items"]
    approvals = [r for r in audit if r["action"] == "job.approved"]
    assert len(approvals) == 1
    assert approvals[0]["actor_user_id"] is None  # Gigforge approved it under the rule, no person
