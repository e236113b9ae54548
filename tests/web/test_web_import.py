"""Pasting a job: the API and the dashboard's form refuse text over the limit with a clear
message instead of cutting it, and a paste within it is kept whole."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI

from factories import register
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.inbound import IMPORT_TEXT_LIMIT
from gigforge.opportunities.models import Opportunity
from web_support import csrf_of, sign_in

IMPORT = "/api/v1/jobs/opportunities/import"
LINK = "https://www.upwork.com/jobs/~0123456789abcdef"
OPPORTUNITY_PATH = re.compile(r"^/opportunities/([0-9a-f-]{36})$")


def _pasted(length: int) -> str:
    head = f"Need a Django developer\n{LINK}\n"
    return head + "x" * (length - len(head))


async def test_the_api_refuses_pasted_text_over_the_limit_with_a_problem(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)

    refused = await web.post(
        IMPORT, json={"text": _pasted(IMPORT_TEXT_LIMIT + 1)}, headers=account.headers
    )

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["detail"].startswith("The pasted text is 10,001 characters; the limit is")
    assert problem["errors"][0]["loc"] == ["body", "text"]
    listed = await web.get("/api/v1/jobs/opportunities", headers=account.headers)
    assert listed.json()["total"] == 0


async def test_the_api_keeps_pasted_text_at_the_limit_whole(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    text = _pasted(IMPORT_TEXT_LIMIT)

    kept = await web.post(IMPORT, json={"text": text}, headers=account.headers)

    assert kept.status_code == 201, kept.text
    async with unit_of_work(sandbox_app.state.database) as session:
        row = await session.get(Opportunity, uuid.UUID(kept.json()["id"]))
    assert row is not None
    assert row.description == text


async def test_the_import_form_has_a_live_counter_and_refuses_too_long_text_in_the_form(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    await sign_in(web, account)
    board = await web.get("/opportunities")
    assert 'href="/opportunities/import"' in board.text

    form = await web.get("/opportunities/import")
    assert form.status_code == 200
    assert 'data-limit="10000" data-counter="i-text-count"' in form.text
    assert '<script src="/static/char-count.js" defer></script>' in form.text
    assert "maxlength" not in form.text.split('id="i-text"')[1].split(">")[0]  # no silent cut
    script = await web.get("/static/char-count.js")
    assert script.status_code == 200
    assert "textarea[data-limit]" in script.text

    too_long = _pasted(IMPORT_TEXT_LIMIT + 250)
    refused = await web.post(
        "/opportunities/import", data={"csrf_token": csrf_of(form.text), "text": too_long}
    )
    assert refused.status_code == 422
    assert "The pasted text is 10,250 characters; the limit is 10,000." in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert too_long in refused.text  # what was pasted is still there to shorten

    empty = await web.post("/opportunities/import", data={"csrf_token": csrf_of(form.text)})
    assert empty.status_code == 422
    assert "Paste the job&#39;s link, its text, or both." in empty.text


async def test_a_pasted_job_is_added_and_opened(web: httpx.AsyncClient) -> None:
    account = await register(web)
    await sign_in(web, account)
    form = await web.get("/opportunities/import")

    added = await web.post(
        "/opportunities/import",
        data={
            "csrf_token": csrf_of(form.text),
            "url": LINK,
            "title": "Booking system in Django",
            "text": "Build a booking system for a clinic.",
        },
    )

    assert added.status_code == 303, added.text
    found = OPPORTUNITY_PATH.match(added.headers["location"])
    assert found is not None
    page = await web.get(added.headers["location"])
    assert "Booking system in Django" in page.text
    assert "Build a booking system for a clinic." in page.text


async def test_proposal_text_over_the_limit_says_how_long_it_is(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    await sign_in(web, account)
    form = await web.get("/opportunities/import")
    added = await web.post(
        "/opportunities/import",
        data={"csrf_token": csrf_of(form.text), "url": LINK, "text": "A clinic booking system."},
    )
    opportunity_id = added.headers["location"].rsplit("/", 1)[1]
    page = await web.get(f"/opportunities/{opportunity_id}")
    drafted = await web.post(
        f"/opportunities/{opportunity_id}/proposals", data={"csrf_token": csrf_of(page.text)}
    )
    proposal = drafted.headers["location"]
    editor = await web.get(proposal)
    assert 'data-limit="10000" data-counter="p-text-count"' in editor.text

    refused = await web.post(
        f"{proposal}/versions", data={"csrf_token": csrf_of(editor.text), "text": "y" * 10_001}
    )

    assert refused.status_code == 422
    assert "The text is 10,001 characters; keep it to 10,000 or fewer." in refused.text
