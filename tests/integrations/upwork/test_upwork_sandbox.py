"""The sandbox speaks like Upwork: its refusals, its error envelope and its schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from upwork_helpers import SANDBOX_URL

from gigforge.integrations.upwork.queries import CURRENT_USER, SEARCH_JOB_POSTINGS
from gigforge.integrations.upwork.sandbox import UpworkSandbox, create_sandbox


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http(sandbox: UpworkSandbox) -> AsyncIterator[httpx.AsyncClient]:
    token = sandbox.issue_tokens()["access_token"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=SANDBOX_URL,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}})


def first_error(response: httpx.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors[0]


async def test_a_request_without_a_token_is_refused_with_401_and_an_errors_array(
    sandbox: UpworkSandbox,
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url=SANDBOX_URL
    ) as anonymous:
        response = await graphql(anonymous, CURRENT_USER)

    assert response.status_code == 401
    assert first_error(response)["extensions"] == {"classification": "Unauthorized"}
    assert sandbox.calls == []


async def test_an_expired_token_is_refused(sandbox: UpworkSandbox, http: httpx.AsyncClient) -> None:
    sandbox.oauth.expire_access_tokens()

    assert (await graphql(http, CURRENT_USER)).status_code == 401


async def test_the_answer_holds_exactly_the_fields_asked_for_under_their_aliases(
    http: httpx.AsyncClient,
) -> None:
    response = await graphql(http, "query { me: user { id name } }")

    assert response.status_code == 200
    assert response.json() == {"data": {"me": {"id": "1614356989843714048", "name": "Sam Sandbox"}}}


async def test_an_undefined_field_is_a_validation_error_in_a_200(http: httpx.AsyncClient) -> None:
    response = await graphql(http, "query { user { id nickname } }")

    assert response.status_code == 200
    error = first_error(response)
    assert error["extensions"] == {"classification": "ValidationError"}
    assert "Field 'nickname' in type 'User' is undefined" in error["message"]


async def test_an_object_field_without_a_selection_is_a_validation_error(
    http: httpx.AsyncClient,
) -> None:
    response = await graphql(http, "query { marketplaceJobPostingsSearch { edges } }")

    assert "SubSelectionRequired" in first_error(response)["message"]


async def test_mutations_and_broken_syntax_are_refused(http: httpx.AsyncClient) -> None:
    mutation = await graphql(http, "mutation { user { id } }")
    broken = await graphql(http, "query { user { id }")

    assert first_error(mutation)["extensions"]["classification"] == "ValidationError"
    assert first_error(broken)["extensions"]["classification"] == "InvalidSyntax"


async def test_a_filter_field_upwork_does_not_have_is_refused(http: httpx.AsyncClient) -> None:
    variables = {"marketPlaceJobFilter": {"budget_gte": 100}, "searchType": "USER_JOBS_SEARCH"}

    response = await graphql(http, SEARCH_JOB_POSTINGS, variables)

    assert "'budget_gte'" in first_error(response)["message"]


async def test_a_variable_of_the_wrong_input_type_is_refused(http: httpx.AsyncClient) -> None:
    query = SEARCH_JOB_POSTINGS.replace(
        "$marketPlaceJobFilter: MarketplaceJobPostingsSearchFilter",
        "$marketPlaceJobFilter: JobFilter",
    )

    response = await graphql(http, query)

    assert "VariableTypeMismatch" in first_error(response)["message"]


async def test_search_pages_with_cursors_inside_pagination_eq(http: httpx.AsyncClient) -> None:
    def page(after: str | None) -> dict[str, Any]:
        pagination: dict[str, Any] = {"first": 3}
        if after is not None:
            pagination["after"] = after
        return {"marketPlaceJobFilter": {"pagination_eq": pagination}}

    first = (await graphql(http, SEARCH_JOB_POSTINGS, page(None))).json()["data"]
    connection = first["marketplaceJobPostingsSearch"]
    end = connection["pageInfo"]["endCursor"]
    second = (await graphql(http, SEARCH_JOB_POSTINGS, page(end))).json()["data"]

    assert connection["totalCount"] == 8
    assert [edge["cursor"] for edge in connection["edges"]] == ["1", "2", "3"]
    assert connection["pageInfo"] == {"hasNextPage": True, "endCursor": "3"}
    assert [edge["cursor"] for edge in second["marketplaceJobPostingsSearch"]["edges"]] == [
        "4",
        "5",
        "6",
    ]


async def test_a_key_without_the_scope_gets_upworks_permission_error(
    sandbox: UpworkSandbox, http: httpx.AsyncClient
) -> None:
    sandbox.permissions.clear()

    response = await graphql(http, CURRENT_USER)

    assert response.status_code == 200
    assert response.json()["data"] is None
    error = first_error(response)
    assert error["extensions"] == {"classification": "ExecutionAborted"}
    assert "doesn't have enough oauth2 permissions/scopes" in error["message"]


async def test_past_its_budget_the_sandbox_answers_429_for_a_minute() -> None:
    clock = Clock()
    sandbox = create_sandbox(requests_per_minute=2, clock=clock)
    token = sandbox.issue_tokens()["access_token"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app),
        base_url=SANDBOX_URL,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        statuses = [(await graphql(client, CURRENT_USER)).status_code for _ in range(3)]
        refused = await graphql(client, CURRENT_USER)
        clock.now += 61
        later = await graphql(client, CURRENT_USER)

    assert statuses == [200, 200, 429]
    assert refused.headers["Retry-After"] == "60"
    assert first_error(refused)["message"] == "Too Many Requests"
    assert later.status_code == 200


async def test_injected_faults_use_upworks_error_envelope(
    sandbox: UpworkSandbox, http: httpx.AsyncClient
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 3

    response = await graphql(http, CURRENT_USER)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert first_error(response)["message"] == "Too Many Requests"
