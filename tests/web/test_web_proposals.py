"""The dashboard's proposal pages over HTTP: detail, draft, edit, approve, submitted, hand-off."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from factories import AppFactory, connect_openai, register
from gigforge.kit.db import unit_of_work
from gigforge.proposals.models import Proposal, ProposalStatus, ProposalVersion
from web_support import connect_and_scan, csrf_of, sign_in

ROW = re.compile(r'id="opportunity-([0-9a-f-]{36})"')
PROPOSAL_PATH = re.compile(r"^/proposals/([0-9a-f-]{36})$")


async def _first_opportunity(client: httpx.AsyncClient, platform: str) -> str:
    board = await client.get("/opportunities", params={"platform": platform})
    rows = ROW.findall(board.text)
    assert rows, board.text
    return str(rows[0])


async def _draft(client: httpx.AsyncClient, opportunity_id: str) -> str:
    page = await client.get(f"/opportunities/{opportunity_id}")
    assert page.status_code == 200
    drafted = await client.post(
        f"/opportunities/{opportunity_id}/proposals", data={"csrf_token": csrf_of(page.text)}
    )
    assert drafted.status_code == 303, drafted.text
    found = PROPOSAL_PATH.match(drafted.headers["location"])
    assert found is not None
    return found.group(1)


async def _drafted(app: FastAPI, client: httpx.AsyncClient, platform: str) -> tuple[str, str]:
    """A signed-in user with a scanned source and one drafted proposal:
    (opportunity id, proposal id)."""
    account = await register(client)
    await connect_and_scan(app, client, account, platform)
    await sign_in(client, account)
    opportunity_id = await _first_opportunity(client, platform)
    return opportunity_id, await _draft(client, opportunity_id)


async def _post(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    page = await client.get("/proposals")
    return await client.post(path, data={"csrf_token": csrf_of(page.text), **fields})


async def _submit_due(app: FastAPI) -> None:
    app.state.integrations.runtime.sleep = _no_wait
    await app.state.tasks.run_due()


async def _no_wait(delay: float) -> None:
    return None


async def test_open_draft_edit_approve_and_see_it_submitted(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await connect_openai(web, account)
    await connect_and_scan(sandbox_app, web, account, "freelancer")
    await sign_in(web, account)

    opportunity_id = await _first_opportunity(web, "freelancer")
    detail = await web.get(f"/opportunities/{opportunity_id}")
    assert "Why this score" in detail.text
    assert "Draft a proposal" in detail.text
    assert "None yet." in detail.text

    proposal_id = await _draft(web, opportunity_id)
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Waiting for your approval" in editor.text
    assert "Drafted by openai:" in editor.text
    assert "Template, not AI" not in editor.text

    saved = await _post(
        web,
        f"/proposals/{proposal_id}/versions",
        text="Hello! I have shipped three APIs like this. First step: a call on scope.",
        amount="275.50",
        period_days="10",
    )
    assert saved.status_code == 303
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Version 2: Edited by you" in editor.text
    assert 'value="275.50"' in editor.text
    assert "First step: a call on scope." in editor.text

    approved = await _post(web, f"/proposals/{proposal_id}/approve")
    assert approved.status_code == 303
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Approved, going out" in editor.text
    assert f'hx-get="/proposals/{proposal_id}/status?shown=approved"' in editor.text
    assert "Saving a change takes it back to waiting for your approval." in editor.text
    unchanged = await web.get(f"/proposals/{proposal_id}/status", params={"shown": "approved"})
    assert unchanged.status_code == 204

    await _submit_due(sandbox_app)
    changed = await web.get(f"/proposals/{proposal_id}/status", params={"shown": "approved"})
    assert changed.headers["HX-Refresh"] == "true"
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Submitted" in editor.text
    bids = sandbox_app.state.sandboxes["freelancer"].bids
    [bid] = bids.values()
    assert f"reference <strong>{bid['id']}</strong>" in editor.text
    assert bid["amount"] == 275.5
    assert bid["period"] == 10
    assert bid["description"].startswith("Hello! I have shipped three APIs")
    assert 'hx-get="/proposals' not in editor.text

    queue = await web.get("/proposals")
    assert "Sent" in queue.text
    assert f'href="/proposals/{proposal_id}"' in queue.text


async def test_without_a_model_the_draft_is_labelled_as_not_ai(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, proposal_id = await _drafted(sandbox_app, web, "freelancer")
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Template, not AI" in editor.text


async def test_a_bad_edit_is_shown_next_to_its_field_and_saves_nothing(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, proposal_id = await _drafted(sandbox_app, web, "freelancer")

    typed = "My reworded text that must not be lost"
    refused = await _post(
        web, f"/proposals/{proposal_id}/versions", text=typed, amount="12,5x", period_days="0"
    )
    assert refused.status_code == 422
    assert "Enter an amount such as 1,500.00 or 1500" in refused.text
    assert "Enter a whole number of days from 1 to 365." in refused.text
    assert typed in refused.text
    too_fine = await _post(web, f"/proposals/{proposal_id}/versions", text=typed, amount="10.001")
    assert too_fine.status_code == 422
    assert "amounts have at most 2 decimals." in too_fine.text
    empty = await _post(web, f"/proposals/{proposal_id}/versions", text="   ")
    assert empty.status_code == 422
    assert "The proposal needs some text." in empty.text

    database = sandbox_app.state.database
    async with unit_of_work(database) as session:
        versions = await session.scalar(
            select(func.count()).where(ProposalVersion.proposal_id == uuid.UUID(proposal_id))
        )
    assert versions == 1


async def test_a_refused_ai_draft_explains_why_and_leaves_no_proposal(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(sandbox=True, ai_monthly_budget_micro_usd=0)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
        account = await register(web)
        await connect_openai(web, account)
        await connect_and_scan(app, web, account, "freelancer")
        await sign_in(web, account)
        opportunity_id = await _first_opportunity(web, "freelancer")
        board = await web.get("/opportunities")
        assert "AI budget is spent" in board.text

        page = await web.get(f"/opportunities/{opportunity_id}")
        refused = await web.post(
            f"/opportunities/{opportunity_id}/proposals", data={"csrf_token": csrf_of(page.text)}
        )
        assert refused.status_code == 403
        assert 'class="error" role="alert"' in refused.text
        assert "None yet." in refused.text
    async with unit_of_work(app.state.database) as session:
        assert await session.scalar(select(func.count()).select_from(Proposal)) == 0


async def test_hand_off_shows_the_text_and_link_until_marked_sent(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, proposal_id = await _drafted(sandbox_app, web, "upwork")
    await _post(web, f"/proposals/{proposal_id}/approve")
    await _submit_due(sandbox_app)

    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Ready for you to send" in editor.text
    assert "Send it yourself" in editor.text
    assert 'id="handoff-text"' in editor.text
    assert "https://www.upwork.com/jobs/" in editor.text
    board = await web.get("/opportunities")
    assert "is ready for you to send on the platform" in board.text
    assert f'href="/proposals/{proposal_id}">Send it</a>' in board.text

    sent = await _post(web, f"/proposals/{proposal_id}/mark-sent")
    assert sent.status_code == 303
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "by you on upwork" in editor.text
    board = await web.get("/opportunities")
    assert "ready for you to send" not in board.text


async def test_a_failed_submission_is_a_notice_with_its_reason(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, proposal_id = await _drafted(sandbox_app, web, "freelancer")
    async with unit_of_work(sandbox_app.state.database) as session:
        await session.execute(
            update(Proposal)
            .where(Proposal.id == uuid.UUID(proposal_id))
            .values(status=ProposalStatus.failed, failure_reason="The project is closed")
        )
    board = await web.get("/opportunities")
    assert "could not be submitted: The project is closed." in board.text
    editor = await web.get(f"/proposals/{proposal_id}")
    assert "Approve and send" in editor.text
    queue = await web.get("/proposals")
    assert "Needs you" in queue.text


async def test_someone_elses_proposal_and_forms_without_csrf_are_refused(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    opportunity_id, proposal_id = await _drafted(sandbox_app, web, "freelancer")

    no_token = await web.post(f"/proposals/{proposal_id}/approve")
    assert no_token.status_code == 403
    assert "This form has expired" in no_token.text

    transport = httpx.ASGITransport(app=sandbox_app, client=("203.0.113.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        intruder = await register(other)
        await sign_in(other, intruder)
        for path in (f"/proposals/{proposal_id}", f"/opportunities/{opportunity_id}"):
            assert (await other.get(path)).status_code == 404
        approve = await _post(other, f"/proposals/{proposal_id}/approve")
        assert approve.status_code == 404
    async with unit_of_work(sandbox_app.state.database) as session:
        proposal = await session.get(Proposal, uuid.UUID(proposal_id))
        assert proposal is not None
        assert proposal.status is ProposalStatus.draft
