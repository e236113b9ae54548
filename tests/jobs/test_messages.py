"""Client messages on a job: read from the platform once, replies sent only after approval and
only once (Freelancer.com), read-only platforms hand the reply off (Upwork), and a platform
with no connection keeps the conversation on the platform."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from factories import Account
from gigforge.jobs import awards, messages
from gigforge.jobs.models import Job, JobMessage
from gigforge.jobs.service import WonWork
from gigforge.jobs.service import jobs as job_service
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from job_support import sent_proposal, won_job

LEASE = timedelta(minutes=5)


async def _freelancer_job(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> dict[str, Any]:
    """An awarded Freelancer.com bid, accepted: the project's thread exists."""
    await sent_proposal(app, http, account, "freelancer")
    await awards.plan_checks(app.state.integrations)
    await app.state.tasks.run_due()
    [job] = (await http.get("/api/v1/jobs", headers=account.headers)).json()["jobs"]
    await http.post(f"/api/v1/jobs/{job['id']}/accept", headers=account.headers)
    await app.state.tasks.run_due()
    return dict((await http.get(f"/api/v1/jobs/{job['id']}", headers=account.headers)).json())


async def _project_of(app: FastAPI, job: dict[str, Any]) -> str:
    async with unit_of_work(app.state.database) as session:
        row = await session.get(Job, uuid.UUID(job["id"]))
        assert row is not None
        assert row.external_project_id is not None
        return row.external_project_id


async def _freelancer_thread(app: FastAPI, job: dict[str, Any]) -> int:
    project = await _project_of(app, job)
    sandbox = app.state.sandboxes["freelancer"]
    return next(
        thread_id
        for thread_id, thread in sandbox.threads.items()
        if str(thread["thread"]["context"]["id"]) == project
    )


async def _messages(http: httpx.AsyncClient, account: Account, job_id: str) -> dict[str, Any]:
    answer = await http.get(f"/api/v1/jobs/{job_id}/messages", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def _job_without_connection(app: FastAPI, account: Account, url: str) -> str:
    """A job from an alert email on a platform the user has no connection to."""
    async with unit_of_work(app.state.database) as session:
        job = await job_service.create(
            session,
            uuid.UUID(account.user_id),
            WonWork(platform="peopleperhour", source="alert", title="A logo", url=url),
        )
        return str(job.id)


def _sandbox_copies(app: FastAPI, text: str) -> int:
    sandbox = app.state.sandboxes["freelancer"]
    return sum(1 for m in sandbox.messages.values() if m["message"] == text)


async def test_a_client_message_is_read_into_the_job_once(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job = await _freelancer_job(app, http, account)
    started = await _messages(http, account, job["id"])  # read when the job started
    assert [m["direction"] for m in started["messages"]] == ["in"]
    app.state.sandboxes["freelancer"].client_says(
        await _freelancer_thread(app, job), "Could you add a one-page summary?"
    )
    job_id = uuid.UUID(job["id"])
    assert await messages.sync(app.state.integrations, job_id) == 1
    assert await messages.sync(app.state.integrations, job_id) == 0

    listed = await _messages(http, account, job["id"])
    assert listed["connected"] is True
    asked = [m for m in listed["messages"] if m["text"] == "Could you add a one-page summary?"]
    assert len(asked) == 1
    assert (asked[0]["direction"], asked[0]["status"]) == ("in", "received")
    assert listed["messages"][-1]["text"] == "Could you add a one-page summary?"  # oldest first
    assert await messages.plan_syncs(app.state.integrations) == 1  # the schedule reads it too
    await app.state.tasks.run_due()
    assert len((await _messages(http, account, job["id"]))["messages"]) == 2


async def test_a_reply_is_sent_only_after_approval_and_only_once(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job = await _freelancer_job(app, http, account)
    text = "Yes, I will add the summary by Friday."
    drafted = await http.post(
        f"/api/v1/jobs/{job['id']}/messages", json={"text": text}, headers=account.headers
    )
    assert drafted.status_code == 201, drafted.text
    message = drafted.json()
    assert (message["direction"], message["status"]) == ("out", "draft")
    await app.state.tasks.run_due()
    assert _sandbox_copies(app, text) == 0  # a draft never leaves

    approve = f"/api/v1/jobs/{job['id']}/messages/{message['id']}/approve"
    approved = await http.post(approve, headers=account.headers)
    assert approved.status_code == 202, approved.text
    assert approved.json()["status"] == "approved"
    await app.state.tasks.run_due()
    assert _sandbox_copies(app, text) == 1
    [sent] = [
        m for m in (await _messages(http, account, job["id"]))["messages"] if m["text"] == text
    ]
    assert sent["status"] == "sent"
    assert sent["external_id"]

    again = await http.post(approve, headers=account.headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    message_id = uuid.UUID(message["id"])
    assert await messages.send(app.state.integrations, message_id, lease=LEASE) is None
    assert _sandbox_copies(app, text) == 1


async def test_a_rerun_after_a_crash_between_send_and_record_finds_the_sent_message(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job = await _freelancer_job(app, http, account)
    text = "Here is the outline we talked about."
    drafted = await http.post(
        f"/api/v1/jobs/{job['id']}/messages", json={"text": text}, headers=account.headers
    )
    message_id = uuid.UUID(drafted.json()["id"])
    await http.post(
        f"/api/v1/jobs/{job['id']}/messages/{message_id}/approve", headers=account.headers
    )
    await app.state.tasks.run_due()
    assert _sandbox_copies(app, text) == 1
    # The worker died after the platform took the message and before it was recorded.
    async with unit_of_work(app.state.database) as session:
        await session.execute(
            update(JobMessage)
            .where(JobMessage.id == message_id)
            .values(
                status="sending",
                external_id=None,
                sent_at=None,
                claimed_until=utcnow() - timedelta(seconds=1),
            )
        )
    # A read of the thread meanwhile keeps the user's message as it is on the platform...
    assert await messages.sync(app.state.integrations, uuid.UUID(job["id"])) == 1
    # ...and the rerun finds it in the thread instead of sending it again: one row stays.
    assert await messages.send(app.state.integrations, message_id, lease=LEASE) == "sent"
    assert _sandbox_copies(app, text) == 1
    rows = [m for m in (await _messages(http, account, job["id"]))["messages"] if m["text"] == text]
    assert [(m["id"], m["status"]) for m in rows] == [(str(message_id), "sent")]


async def test_upwork_messages_are_read_from_the_room_and_a_reply_is_handed_off(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job = await won_job(app, http, account, "upwork")
    sandbox = app.state.sandboxes["upwork"]
    project = await _project_of(app, job)
    room = next(
        room
        for room in sandbox.rooms
        if room["vendorProposal"]["marketplaceJobPosting"]["id"] == project
    )
    sandbox.client_says(room["id"], "Please use British spelling.")
    synced = await http.post(f"/api/v1/jobs/{job['id']}/messages/sync", headers=account.headers)
    assert synced.status_code == 202, synced.text
    await app.state.tasks.run_due()
    listed = await _messages(http, account, job["id"])
    texts = [(m["direction"], m["status"], m["text"]) for m in listed["messages"]]
    assert ("in", "received", "Please use British spelling.") in texts
    assert all("sent you an offer" not in text for _, _, text in texts)  # a platform notice

    drafted = await http.post(
        f"/api/v1/jobs/{job['id']}/messages", json={"text": "Will do."}, headers=account.headers
    )
    await http.post(
        f"/api/v1/jobs/{job['id']}/messages/{drafted.json()['id']}/approve",
        headers=account.headers,
    )
    await app.state.tasks.run_due()
    [reply] = [
        m
        for m in (await _messages(http, account, job["id"]))["messages"]
        if m["text"] == "Will do."
    ]
    assert reply["status"] == "failed"
    assert reply["hand_off"] is True
    assert reply["error"].startswith("Send it on Upwork: ")


async def test_a_platform_without_a_connection_keeps_the_conversation_there(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    url = "https://www.peopleperhour.com/freelance-jobs/logo-123"
    job_id = await _job_without_connection(app, account, url)
    listed = await _messages(http, account, job_id)
    assert listed["connected"] is False
    assert listed["messages"] == []
    assert url in listed["note"]

    drafted = await http.post(
        f"/api/v1/jobs/{job_id}/messages", json={"text": "Thanks!"}, headers=account.headers
    )
    await http.post(
        f"/api/v1/jobs/{job_id}/messages/{drafted.json()['id']}/approve", headers=account.headers
    )
    await app.state.tasks.run_due()
    [reply] = (await _messages(http, account, job_id))["messages"]
    assert (reply["status"], reply["hand_off"]) == ("failed", True)
    assert reply["error"].endswith(url)


async def test_an_unknown_message_is_a_problem_not_found(
    app: FastAPI, http: httpx.AsyncClient, account: Account
) -> None:
    job_id = await _job_without_connection(app, account, "https://example.com/job/1")
    answer = await http.post(
        f"/api/v1/jobs/{job_id}/messages/{uuid.uuid4()}/approve", headers=account.headers
    )
    assert answer.status_code == 404
    assert answer.json()["type"].endswith("job-message-not-found")
