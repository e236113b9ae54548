"""The sandbox's own protocol, checked with a plain client: Jira's paths, envelopes, status
codes, auth, paging tokens and rate-limit headers, and Atlassian's OAuth endpoints."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from jira_support import SANDBOX_URL, Clock

from gigforge.integrations.jira.sandbox import (
    SANDBOX_API_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLOUD_ID,
    SANDBOX_EMAIL,
    JiraSandbox,
    create_sandbox,
)

BASIC = "Basic " + base64.b64encode(f"{SANDBOX_EMAIL}:{SANDBOX_API_TOKEN}".encode()).decode()


@pytest.fixture
async def raw(sandbox: JiraSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=SANDBOX_URL,
        headers={"Authorization": BASIC},
    ) as client:
        yield client


async def new_epic(raw: httpx.AsyncClient) -> str:
    response = await raw.post(
        "/rest/api/3/issue",
        json={"fields": {"project": {"key": "GIG"}, "issuetype": {"name": "Epic"}, "summary": "E"}},
    )
    assert response.status_code == 201
    return str(response.json()["key"])


async def test_missing_credentials_get_jiras_401_envelope(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/rest/api/3/myself", headers={"Authorization": ""})

    assert response.status_code == 401
    assert response.json() == {
        "errorMessages": ["Client must be authenticated to access this resource."],
        "errors": {},
    }


async def test_responses_carry_rate_limit_headers_and_429_when_spent(clock: Clock) -> None:
    sandbox = create_sandbox(clock=clock, window_limit=2, window_seconds=10)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=SANDBOX_URL,
        headers={"Authorization": BASIC},
    ) as raw:
        first = await raw.get("/rest/api/3/myself")
        await raw.get("/rest/api/3/myself")
        third = await raw.get("/rest/api/3/myself")
        clock.advance(10)
        fourth = await raw.get("/rest/api/3/myself")

    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert third.status_code == 429
    assert third.headers["Retry-After"] == "10"
    assert third.headers["RateLimit-Reason"] == "jira-burst-based"
    assert third.headers["X-RateLimit-Reset"].endswith("Z")
    assert fourth.status_code == 200


async def test_a_create_without_a_summary_lists_the_field_error(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/rest/api/3/issue",
        json={"fields": {"project": {"key": "GIG"}, "issuetype": {"name": "Task"}}},
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"summary": "You must specify a summary of the issue."}


async def test_a_plain_text_description_is_refused_as_not_adf(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "GIG"},
                "issuetype": {"name": "Task"},
                "summary": "S",
                "description": "plain text",
            }
        },
    )

    assert response.status_code == 400
    assert "Atlassian Document" in response.json()["errors"]["description"]


async def test_status_cannot_be_set_by_edit_only_by_transition(raw: httpx.AsyncClient) -> None:
    key = await new_epic(raw)

    edit = await raw.put(f"/rest/api/3/issue/{key}", json={"fields": {"status": {"id": "3"}}})
    bad = await raw.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "99"}})
    good = await raw.post(f"/rest/api/3/issue/{key}/transitions", json={"transition": {"id": "21"}})
    issue = await raw.get(f"/rest/api/3/issue/{key}", params={"fields": "status"})

    assert edit.status_code == 400
    assert bad.json()["errorMessages"] == ["Transition id '99' is not valid for this issue."]
    assert good.status_code == 204
    assert issue.json()["fields"] == {"status": issue.json()["fields"]["status"]}
    assert issue.json()["fields"]["status"]["id"] == "3"


async def test_search_pages_with_next_page_tokens_bound_to_the_query(
    raw: httpx.AsyncClient,
) -> None:
    for _ in range(3):
        await new_epic(raw)
    query = {"jql": "project = GIG ORDER BY key ASC", "fields": ["summary"], "maxResults": 2}

    first = (await raw.post("/rest/api/3/search/jql", json=query)).json()
    second = (
        await raw.post(
            "/rest/api/3/search/jql", json={**query, "nextPageToken": first["nextPageToken"]}
        )
    ).json()
    other = await raw.post(
        "/rest/api/3/search/jql",
        json={"jql": "project = OPS", "nextPageToken": first["nextPageToken"]},
    )

    assert [i["key"] for i in first["issues"]] == ["GIG-1", "GIG-2"]
    assert first["isLast"] is False
    assert [i["key"] for i in second["issues"]] == ["GIG-3"]
    assert second["isLast"] is True
    assert "nextPageToken" not in second
    assert other.status_code == 400


async def test_search_refuses_jql_it_cannot_parse(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/rest/api/3/search/jql", json={"jql": "nonsense ~ 3"})

    assert response.status_code == 400
    assert response.json()["errorMessages"]


async def test_issue_properties_are_searchable(raw: httpx.AsyncClient) -> None:
    key = await new_epic(raw)
    put = await raw.put(f"/rest/api/3/issue/{key}/properties/gigforge", json={"ref": "abc-123"})

    found = await raw.post(
        "/rest/api/3/search/jql",
        json={"jql": 'issue.property[gigforge].ref = "abc-123"', "fields": ["key"]},
    )

    assert put.status_code == 201
    assert [i["key"] for i in found.json()["issues"]] == [key]


async def test_only_oauth_apps_register_webhooks(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        "/rest/api/3/webhook",
        json={
            "url": "https://x.test",
            "webhooks": [{"events": ["jira:issue_updated"], "jqlFilter": "project = GIG"}],
        },
    )

    assert response.status_code == 403


async def test_a_webhook_filter_on_parent_is_refused(sandbox: JiraSandbox) -> None:
    token = str(sandbox.oauth.issue("manage:jira-webhook")["access_token"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX_URL
    ) as raw:
        response = await raw.post(
            f"/ex/jira/{SANDBOX_CLOUD_ID}/rest/api/3/webhook",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "url": "https://x.test",
                "webhooks": [{"events": ["jira:issue_updated"], "jqlFilter": "parent = GIG-1"}],
            },
        )

    assert response.json()["webhookRegistrationResult"][0]["errors"]


async def test_authorize_requires_the_atlassian_audience(sandbox: JiraSandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX_URL
    ) as raw:
        params = {
            "client_id": SANDBOX_CLIENT_ID,
            "redirect_uri": "https://gigforge.test/cb",
            "response_type": "code",
            "state": "s1",
            "scope": "read:jira-work offline_access",
        }
        refused = await raw.get("/authorize", params=params)
        granted = await raw.get("/authorize", params={**params, "audience": "api.atlassian.com"})

    assert refused.status_code == 400
    assert granted.status_code == 302
    assert "code" in parse_qs(urlsplit(granted.headers["location"]).query)


async def test_an_unknown_cloud_id_is_not_found(sandbox: JiraSandbox) -> None:
    token = str(sandbox.oauth.issue("read:jira-work")["access_token"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX_URL
    ) as raw:
        response = await raw.get(
            "/ex/jira/not-a-site/rest/api/3/myself", headers={"Authorization": f"Bearer {token}"}
        )

    assert response.status_code == 404
