"""API rate limits: the RateLimit headers, 429s, and whose budget each request spends."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from factories import AppFactory, register
from gigforge.accounts.models import User
from gigforge.accounts.principal import Principal
from gigforge.kit.ratelimit import Routes
from web_support import csrf_of, sign_in

_LIMIT = re.compile(r'^"(?P<policy>[a-z]+)";r=(?P<remaining>\d+);t=(?P<reset>\d+)$')


@asynccontextmanager
async def _client(app: FastAPI, address: str = "198.51.100.10") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _limit(response: httpx.Response) -> tuple[str, int, int]:
    match = _LIMIT.match(response.headers["RateLimit"])
    assert match is not None, response.headers["RateLimit"]
    return match["policy"], int(match["remaining"]), int(match["reset"])


async def test_api_answers_carry_the_policy_and_a_remaining_count_that_goes_down(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(rate_limit_read="5/minute")
    async with _client(app) as client:
        account = await register(client)
        first = await client.get("/api/v1/users/me", headers=account.headers)
        second = await client.get("/api/v1/users/me", headers=account.headers)
    assert first.status_code == second.status_code == 200
    assert first.headers["RateLimit-Policy"] == '"read";q=5;w=60'
    policy, remaining, reset = _limit(first)
    assert (policy, remaining) == ("read", 4)
    assert 0 < reset <= 60
    policy, remaining, later_reset = _limit(second)
    assert (policy, remaining) == ("read", 3)
    assert later_reset <= reset


async def test_writes_and_reads_have_separate_policies(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_read="5/minute", rate_limit_write="3/minute")
    async with _client(app) as client:
        account = await register(client)
        written = await client.post(
            "/api/v1/api-keys",
            json={"name": "ci", "scopes": ["users:read"]},
            headers=account.headers,
        )
        read = await client.get("/api/v1/api-keys", headers=account.headers)
    assert written.status_code == 201
    assert written.headers["RateLimit-Policy"] == '"write";q=3;w=60'
    assert _limit(written)[:2] == ("write", 2)
    assert _limit(read)[:2] == ("read", 4)


async def test_a_spent_limit_answers_429_problem_with_retry_after(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_read="2/minute")
    async with _client(app) as client:
        account = await register(client)
        for _ in range(2):
            assert (await client.get("/api/v1/users/me", headers=account.headers)).is_success
        refused = await client.get("/api/v1/users/me", headers=account.headers)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:gigforge:problem:rate-limited"
    assert problem["policy"] == "read"
    policy, remaining, reset = _limit(refused)
    assert (policy, remaining) == ("read", 0)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert int(refused.headers["Retry-After"]) == reset == problem["retry_after"]
    assert problem["detail"] == (
        f"You have used all 2 reads allowed per minute; try again in {reset} seconds."
    )


async def test_each_api_key_has_its_own_budget_apart_from_its_user(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(rate_limit_read="2/minute")
    async with _client(app) as client:
        account = await register(client)
        other = await register(client)
        key = (
            await client.post(
                "/api/v1/api-keys",
                json={"name": "ci", "scopes": ["users:read"]},
                headers=account.headers,
            )
        ).json()["key"]
        for _ in range(2):
            await client.get("/api/v1/users/me", headers=account.headers)
        assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 429
        with_key = await client.get("/api/v1/users/me", headers={"X-API-Key": key})
        other_user = await client.get("/api/v1/users/me", headers=other.headers)
    assert with_key.status_code == 200
    assert _limit(with_key)[1] == 1
    assert other_user.status_code == 200
    assert _limit(other_user)[1] == 1


async def test_credential_routes_are_limited_per_client_address(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_auth="3/minute")
    attempt = {"email": "nobody@example.com", "password": "not the password 1"}
    async with _client(app, "198.51.100.1") as first, _client(app, "198.51.100.2") as second:
        answers = [await first.post("/api/v1/auth/login", json=attempt) for _ in range(4)]
        elsewhere = await second.post("/api/v1/auth/login", json=attempt)
    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
    assert [_limit(answer)[1] for answer in answers] == [2, 1, 0, 0]
    assert answers[0].headers["RateLimit-Policy"] == '"auth";q=3;w=60'
    assert answers[3].json()["type"] == "urn:gigforge:problem:rate-limited"
    assert elsewhere.status_code == 401
    assert _limit(elsewhere)[1] == 2


async def test_a_stale_token_does_not_dodge_the_credential_route_limit(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(rate_limit_auth="1/minute")
    attempt = {"email": "nobody@example.com", "password": "not the password 1"}
    stale = {"Authorization": "Bearer not-a-token"}
    async with _client(app) as client:
        assert (await client.post("/api/v1/auth/login", json=attempt)).status_code == 401
        refused = await client.post("/api/v1/auth/login", json=attempt, headers=stale)
    assert refused.status_code == 429


async def test_anonymous_calls_spend_their_address_budget(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_read="2/minute")
    async with _client(app) as client:
        answers = [await client.get("/api/v1/users/me") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert [_limit(answer)[1] for answer in answers] == [1, 0, 0]


async def test_guessed_tokens_are_charged_to_the_address_and_then_refused(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(rate_limit_read="2/minute")
    guessed = {"Authorization": "Bearer guessed"}
    async with _client(app) as client:
        answers = [await client.get("/api/v1/users/me", headers=guessed) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert [_limit(answer)[1] for answer in answers] == [1, 0, 0]
    assert answers[2].headers["content-type"] == "application/problem+json"
    assert "Retry-After" in answers[2].headers


async def test_pages_health_and_sandboxes_are_not_limited(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_read="1/minute", rate_limit_write="1/minute")
    async with _client(app) as client:
        answers = [await client.get(path) for path in ("/healthz", "/healthz", "/login", "/login")]
    assert all(answer.status_code == 200 for answer in answers)
    assert all("RateLimit" not in answer.headers for answer in answers)


async def test_turned_off_there_are_no_limits_and_no_headers(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limits_enabled=False, rate_limit_read="1/minute")
    async with _client(app) as client:
        answers = [await client.get("/api/v1/users/me") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert all("RateLimit" not in answer.headers for answer in answers)


async def test_a_browser_over_the_sign_in_limit_gets_an_html_page(app_factory: AppFactory) -> None:
    app = await app_factory(rate_limit_auth="2/minute")
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    async with _client(app) as browser:
        async with _client(app) as api:
            account = await register(api)
        page = await browser.get("/login", headers=html)
        form = {"email": account.email, "password": "wrong password 1", "next": ""}
        for _ in range(2):
            await browser.post("/login", data=form | {"csrf_token": csrf_of(page.text)})
        refused = await browser.post(
            "/login", data=form | {"csrf_token": csrf_of(page.text)}, headers=html
        )
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert "Too many requests" in refused.text or "Too many attempts" in refused.text
    assert "try again in" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1


async def test_dashboard_forms_spend_the_signed_in_users_write_budget(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(rate_limit_write="2/minute")
    async with _client(app) as browser, _client(app) as colleague:
        account = await register(browser)
        await sign_in(browser, account)
        page = await browser.get("/settings/profile")
        form = {"csrf_token": csrf_of(page.text)}
        answers = [await browser.post("/settings/profile", data=form) for _ in range(3)]
        # Someone else signed in from the same address has a budget of their own.
        await sign_in(colleague, await register(colleague))
        theirs = await colleague.get("/settings/profile")
        saved = await colleague.post("/settings/profile", data={"csrf_token": csrf_of(theirs.text)})
    assert [answer.status_code for answer in answers] == [303, 303, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"write";q=2;w=60'
    assert [_limit(answer)[1] for answer in answers] == [1, 0, 0]
    assert saved.status_code == 303
    assert _limit(saved)[1] == 1


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("GET", "/api/v1/users/me", "read"),
        ("HEAD", "/api/v1/users/me", "read"),
        ("DELETE", "/api/v1/api-keys/1", "write"),
        ("POST", "/api/v1/auth/login", "auth"),
        ("GET", "/api/v1/auth/anything", "auth"),
        ("POST", "/oauth/token", "auth"),
        ("POST", "/login", "auth"),
        ("POST", "/settings/api-keys", "write"),
        ("GET", "/settings/api-keys", None),
        ("POST", "/sandbox/upwork/oauth/token", None),
        ("POST", "/login/elsewhere", "write"),
    ],
)
def test_route_groups(method: str, path: str, group: str | None) -> None:
    routes = Routes(auth_paths=("/api/v1/auth/", "/oauth/token", "/login"))
    assert routes.group(method, path) == group


async def test_openapi_declares_the_429_and_the_headers_of_limited_operations(
    app: FastAPI,
) -> None:
    async with _client(app) as client:
        schema = (await client.get("/openapi.json")).json()
    me = schema["paths"]["/api/v1/users/me"]["get"]["responses"]
    refused = me["429"]
    assert refused["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert set(refused["headers"]) == {"Retry-After", "RateLimit", "RateLimit-Policy"}
    assert me["200"]["headers"]["RateLimit"] == {"$ref": "#/components/headers/RateLimit"}
    assert "RateLimit-Policy" in schema["components"]["headers"]
    login = schema["paths"]["/api/v1/auth/login"]["post"]["responses"]["429"]
    assert "Rate limit reached" in login["description"]
    assert "Retry-After" in login["headers"]
    assert "429" not in schema["paths"]["/healthz"]["get"]["responses"]


def test_each_kind_of_credential_names_its_own_budget() -> None:
    user = User(id=uuid.uuid4(), email="a@example.com", full_name="A")
    key_id, grant_id, session_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert Principal(user, frozenset(), session_id=session_id).rate_limit_key == f"user:{user.id}"
    assert Principal(user, frozenset(), api_key_id=key_id).rate_limit_key == f"api-key:{key_id}"
    by_app = Principal(user, frozenset(), oauth_grant_id=grant_id)
    assert by_app.rate_limit_key == f"oauth-grant:{grant_id}"


async def test_an_unreachable_redis_lets_calls_through_uncounted(
    app_factory: AppFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    app = await app_factory(redis_url="redis://127.0.0.1:9/0", rate_limit_read="1/minute")
    async with _client(app) as client:
        answers = [await client.get("/api/v1/users/me") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [401, 401, 401]
    assert all("RateLimit" not in answer.headers for answer in answers)
    assert capfd.readouterr().err.count('"event": "ratelimit.storage_unavailable"') == 3
