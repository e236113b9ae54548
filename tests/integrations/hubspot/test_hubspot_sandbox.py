"""The HubSpot sandbox speaks HubSpot's protocol: OAuth, envelopes, headers, search, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hubspot_helpers import Clock

from gigforge.integrations.hubspot.sandbox import (
    CLIENT_ID,
    CLIENT_SECRET,
    PRIVATE_APP_TOKEN,
    HubSpotSandbox,
)
from gigforge.integrations.hubspot.spec import SCOPES

AUTH = {"Authorization": f"Bearer {PRIVATE_APP_TOKEN}"}


@pytest.fixture
async def http(sandbox: HubSpotSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def test_the_oauth_code_grant_issues_tokens_that_refresh_without_rotating(
    http: httpx.AsyncClient,
) -> None:
    redirect = "https://gigforge.example/api/v1/connections/hubspot/callback"
    authorize = await http.get(
        "/oauth/authorize",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": redirect,
            "scope": " ".join(SCOPES),
            "response_type": "code",
            "state": "s1",
        },
    )
    assert authorize.status_code == 302
    query = parse_qs(urlsplit(authorize.headers["location"]).query)
    assert query["state"] == ["s1"]

    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": redirect}
    token = await http.post(
        "/oauth/v1/token",
        data={**form, "grant_type": "authorization_code", "code": query["code"][0]},
    )
    issued = token.json()
    assert token.status_code == 200
    assert issued["expires_in"] == 1800
    details = await http.get(
        "/account-info/v3/details",
        headers={"Authorization": f"Bearer {issued['access_token']}"},
    )
    assert details.status_code == 200

    refreshed = await http.post(
        "/oauth/v1/token",
        data={**form, "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
    )
    assert refreshed.json()["refresh_token"] == issued["refresh_token"]
    assert refreshed.json()["access_token"] != issued["access_token"]


async def test_a_missing_token_gets_hubspots_error_envelope(http: httpx.AsyncClient) -> None:
    response = await http.get("/crm/v3/pipelines/deals")

    body = response.json()
    assert response.status_code == 401
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["correlationId"]


async def test_answers_carry_rate_limit_headers_and_429_once_the_window_is_spent(
    http: httpx.AsyncClient, sandbox: HubSpotSandbox, clock: Clock
) -> None:
    sandbox.window_limit = 2
    first = await http.get("/account-info/v3/details", headers=AUTH)
    await http.get("/account-info/v3/details", headers=AUTH)
    spent = await http.get("/account-info/v3/details", headers=AUTH)
    clock.now += 10
    again = await http.get("/account-info/v3/details", headers=AUTH)

    assert first.headers["X-HubSpot-RateLimit-Max"] == "2"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert spent.status_code == 429
    assert spent.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert again.status_code == 200


async def test_search_filters_sorts_and_pages_without_rate_limit_headers(
    http: httpx.AsyncClient, sandbox: HubSpotSandbox, clock: Clock
) -> None:
    for name in ("Carol", "alice", "Bob"):
        clock.now += 1
        await sandbox.add("contact", firstname=name, email=f"{name.lower()}@example.com")
    await sandbox.add("contact", firstname="Nomail")

    body = {
        "filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}],
        "sorts": [{"propertyName": "firstname", "direction": "ASCENDING"}],
        "properties": ["firstname"],
        "limit": 2,
    }
    first = await http.post("/crm/v3/objects/contacts/search", headers=AUTH, json=body)
    second = await http.post(
        "/crm/v3/objects/contacts/search",
        headers=AUTH,
        json={**body, "after": first.json()["paging"]["next"]["after"]},
    )

    assert first.json()["total"] == 3
    assert [r["properties"]["firstname"] for r in first.json()["results"]] == ["alice", "Bob"]
    assert [r["properties"]["firstname"] for r in second.json()["results"]] == ["Carol"]
    assert "paging" not in second.json()
    assert "X-HubSpot-RateLimit-Remaining" not in first.headers


async def test_search_refuses_a_page_larger_than_hubspot_serves(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/crm/v3/objects/deals/search", headers=AUTH, json={"limit": 201})

    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


async def test_an_unknown_property_is_refused_like_hubspot_does(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/crm/v3/objects/companies",
        headers=AUTH,
        json={"properties": {"name": "X", "favourite_colour": "teal"}},
    )

    assert response.status_code == 400
    assert 'Property \\"favourite_colour\\" does not exist' in response.json()["message"]


async def test_archiving_answers_204_even_when_the_record_is_already_gone(
    http: httpx.AsyncClient, sandbox: HubSpotSandbox
) -> None:
    company = await sandbox.add("company", name="Short-lived")

    first = await http.delete(f"/crm/v3/objects/companies/{company}", headers=AUTH)
    second = await http.delete(f"/crm/v3/objects/companies/{company}", headers=AUTH)
    read = await http.get(f"/crm/v3/objects/companies/{company}", headers=AUTH)

    assert (first.status_code, second.status_code, read.status_code) == (204, 204, 404)
    assert read.json()["category"] == "OBJECT_NOT_FOUND"
    assert [e["subscriptionType"] for d in sandbox.outbox for e in d.events()] == [
        "company.creation",
        "company.deletion",
    ]


async def test_a_default_association_answers_both_directions(
    http: httpx.AsyncClient, sandbox: HubSpotSandbox
) -> None:
    deal = await sandbox.add("deal", dealname="D", pipeline="default")
    contact = await sandbox.add("contact", firstname="C")

    response = await http.put(
        f"/crm/v4/objects/deal/{deal}/associations/default/contact/{contact}", headers=AUTH
    )
    read = await http.get(
        f"/crm/v3/objects/deals/{deal}", headers=AUTH, params={"associations": "contacts"}
    )

    assert response.json()["status"] == "COMPLETE"
    assert [r["associationSpec"]["associationTypeId"] for r in response.json()["results"]] == [
        3,
        4,
    ]
    assert read.json()["associations"]["contacts"]["results"] == [
        {"id": contact, "type": "deal_to_contact"}
    ]
