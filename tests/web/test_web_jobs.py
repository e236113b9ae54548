"""The jobs board, the job page and the agents page over HTTP, in sandbox mode: every button
posts through the same services as the API, and a refused move answers an HTML page."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from factories import Account, AppFactory, connect_openai, register
from gigforge.jobs.service import WonWork
from gigforge.jobs.service import jobs as job_service
from gigforge.kit.db import unit_of_work
from job_support import sent_proposal, won_job
from web_support import csrf_of, sign_in

JOB_PATH = re.compile(r"^/jobs/([0-9a-f-]{36})$")
STAGE = re.compile(r'hx-get="/jobs/[0-9a-f-]{36}/tasks\?shown=([^"]+)"')


async def _no_wait(delay: float) -> None:
    return None


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    application = await app_factory(sandbox=True)
    application.state.integrations.runtime.sleep = _no_wait
    return application


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """One client for the API helpers (bearer headers) and the pages (cookies)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def account(web: httpx.AsyncClient) -> Account:
    account = await register(web)
    await connect_openai(web, account)
    await sign_in(web, account)
    return account


async def _post(web: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    page = await web.get("/jobs")
    return await web.post(path, data={"csrf_token": csrf_of(page.text), **fields})


def _html(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_an_empty_board_says_how_jobs_appear(
    web: httpx.AsyncClient, account: Account
) -> None:
    board = _html(await web.get("/jobs"), 200)
    assert "No jobs yet" in board
    assert "Mark won" in board
    assert 'href="/jobs" aria-current="page">Jobs</a>' in board


async def test_mark_won_accept_approve_deliver_and_complete_on_the_pages(
    app: FastAPI, web: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, web, account, "upwork")
    editor = _html(await web.get(f"/proposals/{proposal['id']}"), 200)
    assert "Mark won" in editor

    made = await _post(web, f"/proposals/{proposal['id']}/won")
    assert made.status_code == 303, made.text
    found = JOB_PATH.match(made.headers["location"])
    assert found is not None
    job_id = found.group(1)
    pending = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert "Waiting for you to accept" in pending
    assert "certification level 2" in pending
    assert f'action="/jobs/{job_id}/approve"' not in pending
    won = _html(await web.get(f"/proposals/{proposal['id']}"), 200)
    assert f'href="/jobs/{job_id}"' in won
    assert "Mark won" not in won

    accepted = await _post(web, f"/jobs/{job_id}/accept", quality_threshold="3.5")
    assert accepted.status_code == 303, accepted.text
    working = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert "Agents at work" in working or "Started" in working
    assert "Queued" in working
    stage = STAGE.search(working)
    assert stage is not None, "a page with queued tasks polls its tasks part"
    unchanged = _html(await web.get(f"/jobs/{job_id}/tasks?shown={stage.group(1)}"), 200)
    assert unchanged.startswith('<section id="job-tasks"')
    assert "Queued" in unchanged

    await app.state.tasks.run_due()
    moved = await web.get(f"/jobs/{job_id}/tasks?shown={stage.group(1)}")
    assert moved.status_code == 200
    assert moved.headers["HX-Refresh"] == "true"

    review = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert "Ready for your review" in review
    assert re.search(r"\d\.\d/5", review)
    assert "3.5/5" in review
    assert "Each judge's score" in review
    assert '<pre class="preview"' in review
    assert "Download" in review
    assert STAGE.search(review) is None, "nothing left to follow: no polling"
    assert f'action="/jobs/{job_id}/deliver"' not in review

    early = await _post(web, f"/jobs/{job_id}/deliver")
    assert "Approve the job&#39;s work before delivering it" in _html(early, 409)
    assert (await _post(web, f"/jobs/{job_id}/approve")).status_code == 303
    twice = await _post(web, f"/jobs/{job_id}/approve")
    assert "approved already" in _html(twice, 409)
    approved = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert f'action="/jobs/{job_id}/deliver"' in approved

    assert (await _post(web, f"/jobs/{job_id}/deliver")).status_code == 303
    sending = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert "Being sent" in sending
    assert STAGE.search(sending) is not None, "a delivery on its way is followed"
    await app.state.tasks.run_due()
    delivered = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert "Delivered" in delivered
    assert "hand-off" in delivered
    assert "Copy the message" in delivered
    assert "Download the package" in delivered
    assert 'id="delivery-message-0"' in delivered

    assert (await _post(web, f"/jobs/{job_id}/complete")).status_code == 303
    completed = _html(await web.get(f"/jobs/{job_id}"), 200)
    assert "Completed" in completed
    refused = await _post(web, f"/jobs/{job_id}/cancel")
    assert "cannot become cancelled" in _html(refused, 409)

    board = _html(await web.get("/jobs?state=completed"), 200)
    assert f'id="job-{job_id}"' in board
    assert 'Completed <span class="count">(1)</span>' in board
    assert 'value="100"' in board
    assert f'id="job-{job_id}"' not in _html(await web.get("/jobs?state=pending"), 200)


async def test_a_revision_keeps_the_older_version_and_a_task_can_be_retried(
    app: FastAPI, web: httpx.AsyncClient, account: Account
) -> None:
    job = await won_job(app, web, account)
    empty = await _post(web, f"/jobs/{job['id']}/request-revision", feedback="  ")
    assert "Say what should change" in _html(empty, 422)

    sent = await _post(web, f"/jobs/{job['id']}/request-revision", feedback="Shorter, please")
    assert sent.status_code == 303, sent.text
    await app.state.tasks.run_due()
    page = _html(await web.get(f"/jobs/{job['id']}"), 200)
    assert "Revision 1</strong>" in page
    assert "“Shorter, please”" in page
    assert "Version 2 (latest)" in page
    assert re.search(r'<details class="version">\s*<summary>Version 1,', page)
    assert "Answered the feedback: “Shorter, please”" in page

    [task] = job["tasks"]
    retried = await _post(
        web, f"/jobs/{job['id']}/tasks/{task['id']}/retry", feedback="Add a summary"
    )
    assert retried.status_code == 303, retried.text
    again = _html(await web.get(f"/jobs/{job['id']}"), 200)
    assert "Agents at work" in again
    assert "Queued" in again
    busy = await _post(web, f"/jobs/{job['id']}/tasks/{task['id']}/retry")
    assert "cannot be retried" in _html(busy, 409)


async def test_autonomous_needs_level_two_a_strict_threshold_marks_the_task_and_cancel_stops_it(
    app: FastAPI, web: httpx.AsyncClient, account: Account
) -> None:
    proposal = await sent_proposal(app, web, account, "upwork")
    made = await _post(web, f"/proposals/{proposal['id']}/won")
    job_path = made.headers["location"]
    refused = await _post(web, f"{job_path}/accept", autonomous="on")
    text = _html(refused, 403)
    assert "level 2" in text
    assert "Waiting for you to accept" in text
    bad = await _post(web, f"{job_path}/accept", quality_threshold="9")
    assert "score from 0 to 5" in _html(bad, 422)

    strict = await _post(web, f"{job_path}/accept", quality_threshold="5")
    assert strict.status_code == 303, strict.text
    await app.state.tasks.run_due()
    marked = _html(await web.get(job_path), 200)
    assert "Below your threshold" in marked
    assert "task-below-note" in marked
    assert "Retry this task" in marked

    assert (await _post(web, f"{job_path}/cancel")).status_code == 303
    cancelled = _html(await web.get(job_path), 200)
    assert "Cancelled: no agent works on it" in cancelled
    assert "Retry this task" not in cancelled
    assert f'action="{job_path}/approve"' not in cancelled


async def test_another_users_job_is_a_404_page(
    app: FastAPI, web: httpx.AsyncClient, account: Account
) -> None:
    job = await won_job(app, web, account)
    stranger = await register(web)
    web.cookies.clear()
    await sign_in(web, stranger)
    assert "No such job" in _html(await web.get(f"/jobs/{job['id']}"), 404)
    assert "No such job" in _html(await web.get(f"/jobs/{job['id']}/tasks"), 404)
    assert "No such job" in _html(await _post(web, f"/jobs/{job['id']}/approve"), 404)
    assert "No such job" in _html(await web.get(f"/jobs/{uuid.uuid4()}"), 404)
    board = _html(await web.get("/jobs"), 200)
    assert job["id"] not in board


async def test_the_agents_page_shows_each_agent_and_assigns_a_task(
    app: FastAPI, web: httpx.AsyncClient, account: Account
) -> None:
    empty = _html(await web.get("/agents"), 200)
    assert "Available" in empty
    assert "no scored tasks yet" in empty
    assert "accept a job" in empty

    job = await won_job(app, web, account)
    page = _html(await web.get("/agents"), 200)
    [agent] = re.findall(r'action="/agents/([a-z0-9_-]+)/assign"', page)[:1]
    assert f'value="{job["id"]}"' in page
    assert re.search(r"\d\.\d/5", page), "the agent that did the job has a score"

    refused = await _post(web, f"/agents/{agent}/assign", job_id=job["id"], description="")
    assert "Describe the task" in _html(refused, 422)
    unknown = await _post(web, "/agents/nobody/assign", job_id=job["id"], description="Do it")
    assert "No agent is called" in _html(unknown, 422)

    assigned = await _post(
        web, f"/agents/{agent}/assign", job_id=job["id"], description="Write a short FAQ"
    )
    assert assigned.status_code == 303, assigned.text
    assert assigned.headers["location"] == f"/jobs/{job['id']}"
    shown = _html(await web.get(f"/jobs/{job['id']}"), 200)
    assert "Write a short FAQ" in shown
    assert "Queued" in shown


async def test_client_messages_on_a_platform_without_messaging_are_handed_off(
    app: FastAPI, web: httpx.AsyncClient, account: Account
) -> None:
    url = "https://www.peopleperhour.com/freelance-jobs/logo-7"
    async with unit_of_work(app.state.database) as session:
        job = await job_service.create(
            session,
            uuid.UUID(account.user_id),
            WonWork(platform="peopleperhour", source="alert", title="A logo", url=url),
        )
        job_path = f"/jobs/{job.id}"
    page = _html(await web.get(job_path), 200)
    assert "Client messages" in page
    assert "Messages for this job are on peopleperhour" in page
    assert "Check for new messages" not in page  # nothing is read from this platform

    assert "Write the reply first" in _html(await _post(web, f"{job_path}/messages", text=" "), 422)
    drafted = await _post(web, f"{job_path}/messages", text="Thanks, the logo is on its way.")
    assert drafted.status_code == 303, drafted.text
    page = _html(await web.get(job_path), 200)
    assert "Approve and send" in page
    message_id = re.search(r'action="/jobs/[0-9a-f-]{36}/messages/([0-9a-f-]{36})/approve"', page)
    assert message_id is not None
    approve = f"{job_path}/messages/{message_id.group(1)}/approve"
    assert (await _post(web, approve)).status_code == 303
    await app.state.tasks.run_due()
    page = _html(await web.get(job_path), 200)
    assert "Hand-off: paste it" in page
    assert f"Send it on Peopleperhour: {url}" in page  # not an installed integration
    unknown = await _post(web, f"{job_path}/messages/{uuid.uuid4()}/approve")
    assert "No such message on this job" in _html(unknown, 404)
