"""The sandbox keeps Freelancer's rules: its auth check, envelopes, projections, paging,
rate-limit headers and OAuth flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gigforge.integrations.freelancer.sandbox import FreelancerSandbox

ACTIVE = "/api/projects/0.1/projects/active/"
REDIRECT = "https://gigforge.test/connections/freelancer/callback"


@pytest.fixture
async def http(sandbox: FreelancerSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


@pytest.fixture
def auth(sandbox: FreelancerSandbox) -> dict[str, str]:
    return {"Freelancer-OAuth-V1": str(sandbox.oauth.issue("basic")["access_token"])}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/users/0.1/self/"),
        ("GET", ACTIVE),
        ("GET", "/api/projects/0.1/projects/40100001/"),
        ("GET", "/api/projects/0.1/bids/"),
        ("POST", "/api/projects/0.1/bids/"),
    ],
)
async def test_requests_without_a_valid_token_get_freelancers_401_envelope(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in ({}, {"Freelancer-OAuth-V1": "forged"}, {"Authorization": "Bearer x"}):
        response = await http.request(method, path, headers=headers)

        assert response.status_code == 401
        body = response.json()
        assert body["status"] == "error"
        assert body["error_code"] == "RestExceptionCodes.NOT_AUTHENTICATED"
        assert body["message"] == "You must be logged in to perform this request"
        assert body["request_id"]


async def test_search_pages_by_offset_and_reports_the_total(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    first = (await http.get(ACTIVE, params={"limit": 5}, headers=auth)).json()["result"]
    second = (await http.get(ACTIVE, params={"limit": 5, "offset": 5}, headers=auth)).json()[
        "result"
    ]

    assert first["total_count"] == second["total_count"] == 7
    assert len(first["projects"]) == 5
    assert len(second["projects"]) == 2
    ids = [p["id"] for p in first["projects"] + second["projects"]]
    assert len(set(ids)) == 7


async def test_search_returns_only_the_projections_asked_for(
    http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    bare = (await http.get(ACTIVE, params={"limit": 1}, headers=auth)).json()["result"]
    rich = (
        await http.get(
            ACTIVE,
            params={
                "limit": 1,
                "full_description": "true",
                "job_details": "true",
                "user_details": "true",
                "compact": "true",
            },
            headers=auth,
        )
    ).json()["result"]

    assert {"description", "jobs"}.isdisjoint(bare["projects"][0])
    assert bare["users"] is None
    project = rich["projects"][0]
    assert project["description"]
    assert project["jobs"]
    assert set(rich["users"]) == {str(project["owner_id"])}
    assert "location" not in rich["users"][str(project["owner_id"])]


async def test_api_answers_carry_rate_limit_headers_and_429_when_the_window_is_spent(
    sandbox: FreelancerSandbox, http: httpx.AsyncClient, auth: dict[str, str], clock
) -> None:
    sandbox.window_limit = 2

    first = await http.get("/api/users/0.1/self/", headers=auth)
    await http.get("/api/users/0.1/self/", headers=auth)
    spent = await http.get("/api/users/0.1/self/", headers=auth)
    clock.now += sandbox.window_seconds
    fresh = await http.get("/api/users/0.1/self/", headers=auth)

    assert first.headers["RateLimit-Remaining"] == "1"
    assert first.headers["RateLimit-Limit"] == "2, 2;window=60"
    assert spent.status_code == 429
    assert spent.json()["status"] == "error"
    assert spent.headers["RateLimit-Remaining"] == "0"
    assert fresh.status_code == 200


async def test_injected_faults_use_freelancers_error_envelope(
    sandbox: FreelancerSandbox, http: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    sandbox.faults.error_rate = 1.0

    response = await http.get("/api/users/0.1/self/", headers=auth)

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["message"] == "sandbox fault"


async def test_authorization_code_flow_without_pkce_grants_advanced_scopes(
    sandbox: FreelancerSandbox, http: httpx.AsyncClient
) -> None:
    authorize = await http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.oauth.client_id,
            "redirect_uri": REDIRECT,
            "scope": "basic",
            "advanced_scopes": "2",
            "state": "s-1",
        },
    )
    assert authorize.status_code == 302
    query = parse_qs(urlsplit(authorize.headers["location"]).query)
    assert query["state"] == ["s-1"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": REDIRECT,
        "client_id": sandbox.oauth.client_id,
        "client_secret": sandbox.oauth.client_secret,
    }

    issued = (await http.post("/oauth/token", data=form)).json()
    replayed = await http.post("/oauth/token", data=form)

    assert issued["scope"] == "basic fln:project_manage"
    me = await http.get(
        "/api/users/0.1/self/", headers={"Freelancer-OAuth-V1": issued["access_token"]}
    )
    assert me.json()["result"]["username"] == "gigforge_dev"
    assert replayed.status_code == 400


async def test_the_token_endpoint_refuses_a_wrong_client_secret(
    sandbox: FreelancerSandbox, http: httpx.AsyncClient
) -> None:
    authorize = await http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": sandbox.oauth.client_id,
            "redirect_uri": REDIRECT,
            "scope": "basic",
        },
    )
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]

    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": sandbox.oauth.client_id,
            "client_secret": "wrong",
        },
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
