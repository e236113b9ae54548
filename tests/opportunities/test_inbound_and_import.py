"""Listings handed in: signed automation webhooks and pasted jobs."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from factories import register
from gigforge.opportunities.inbound import BadSignature, sign, verify

OPPORTUNITIES = "/api/v1/jobs/opportunities"


async def _endpoint(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    created = await client.post(
        "/api/v1/inbound-endpoints", json={"source": "fiverr"}, headers=headers
    )
    assert created.status_code == 201, created.text
    body: dict[str, str] = created.json()
    assert body["secret"].startswith("gfi_")
    assert body["url"].endswith("/api/v1/inbound/fiverr")
    return body


def _signed(endpoint: dict[str, str], payload: object, *, at: int | None = None) -> dict:
    body = json.dumps(payload).encode()
    timestamp = int(time.time()) if at is None else at
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/json",
            "X-Gigforge-Key-Id": endpoint["id"],
            "X-Gigforge-Signature": sign(endpoint["secret"], timestamp, body),
        },
    }


BRIEF = {
    "url": "https://www.fiverr.com/briefs/123456",
    "title": "Logo for a <b>coffee</b> roastery<script>alert(1)</script>",
    "description": "Minimal, warm colours. <img src=x onerror=alert(2)>",
    "budget_min": 150,
    "budget_max": 300,
    "currency": "usd",
    "skills": ["Logo Design"],
}


async def test_a_signed_listing_is_stored_scored_and_sanitized(client: httpx.AsyncClient) -> None:
    account = await register(client)
    endpoint = await _endpoint(client, account.headers)
    accepted = await client.post("/api/v1/inbound/fiverr", **_signed(endpoint, BRIEF))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"found": 1, "updated": 0, "duplicates": 0, "skipped": 0}
    [job] = (await client.get(OPPORTUNITIES, headers=account.headers)).json()["opportunities"]
    assert job["platform"] == "fiverr"
    assert job["title"] == "Logo for a coffee roastery"
    assert "onerror" not in job["description"]
    assert job["budget"] == 300
    assert job["currency"] == "USD"
    again = await client.post(
        "/api/v1/inbound/fiverr", **_signed(endpoint, {"items": [BRIEF, BRIEF]})
    )
    assert again.json()["updated"] == 1


async def test_bad_signatures_are_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    endpoint = await _endpoint(client, account.headers)
    forged = _signed({**endpoint, "secret": "gfi_wrong"}, BRIEF)
    assert (await client.post("/api/v1/inbound/fiverr", **forged)).status_code == 401
    stale = _signed(endpoint, BRIEF, at=int(time.time()) - 3600)
    refused = await client.post("/api/v1/inbound/fiverr", **stale)
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("bad-signature")
    unsigned = _signed(endpoint, BRIEF)
    del unsigned["headers"]["X-Gigforge-Signature"]
    assert (await client.post("/api/v1/inbound/fiverr", **unsigned)).status_code == 401
    wrong_source = await client.post("/api/v1/inbound/guru", **_signed(endpoint, BRIEF))
    assert wrong_source.status_code == 401
    assert (await client.get(OPPORTUNITIES, headers=account.headers)).json()["total"] == 0


async def test_invalid_listings_are_422_and_store_nothing(client: httpx.AsyncClient) -> None:
    account = await register(client)
    endpoint = await _endpoint(client, account.headers)
    response = await client.post(
        "/api/v1/inbound/fiverr", **_signed(endpoint, {"items": [BRIEF, {"title": "no url"}]})
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "items", 1]
    assert (await client.get(OPPORTUNITIES, headers=account.headers)).json()["total"] == 0


def test_verify_checks_the_timestamp_window() -> None:
    body = b"{}"
    header = sign("s", 1_000_000, body)
    verify("s", header, body, now=1_000_000 + 299)
    for now in (1_000_000 + 301, 1_000_000 - 301):
        with pytest.raises(BadSignature):
            verify("s", header, body, now=now)


async def test_pasting_a_job_link_and_text(client: httpx.AsyncClient) -> None:
    account = await register(client)
    pasted = await client.post(
        f"{OPPORTUNITIES}/import",
        json={
            "text": "Need a Django developer\nBuild a booking system. "
            "https://www.upwork.com/jobs/~0123456789abcdef",
        },
        headers=account.headers,
    )
    assert pasted.status_code == 201, pasted.text
    job = pasted.json()
    assert job["platform"] == "upwork"
    assert job["external_job_id"] == "~0123456789abcdef"
    assert job["title"] == "Need a Django developer"
    missing = await client.post(
        f"{OPPORTUNITIES}/import", json={"text": "no link here"}, headers=account.headers
    )
    assert missing.status_code == 422
