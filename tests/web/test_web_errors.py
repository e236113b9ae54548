"""Errors as pages for people in a browser, problem+json for everyone else."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from factories import AppFactory
from gigforge.kit.problems import PROBLEM_CONTENT_TYPE, prefers_html

# What Chromium and Firefox send when the user follows a link or types an address.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def _assert_page(response: httpx.Response, status: int, *texts: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in response.text
    assert f"Error {status}" in response.text
    assert '"status"' not in response.text
    for text in texts:
        assert text in response.text, response.text


def _assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("text/html", True),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0.9, application/problem+json", False),
        ("text/html;q=0", False),
        ("text/html;q=oops", False),
    ],
)
def test_only_an_accept_that_ranks_html_first_prefers_a_page(accept: str, html: bool) -> None:
    assert prefers_html("/connections", accept) is html


@pytest.mark.parametrize("path", ["/api/v1/nope", "/sandbox/upwork/x", "/openapi.json", "/api"])
def test_machine_paths_never_prefer_a_page(path: str) -> None:
    assert prefers_html(path, BROWSER["Accept"]) is False


async def test_a_browser_gets_an_html_404_page_for_an_unknown_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/register-nope", headers=BROWSER)
    _assert_page(response, 404, "Page not found", "There is no page at /register-nope.")
    assert 'href="/opportunities"' in response.text


async def test_api_clients_get_problem_json_for_the_same_unknown_path(
    client: httpx.AsyncClient,
) -> None:
    _assert_problem(await client.get("/register-nope", headers=JSON), 404)
    _assert_problem(await client.get("/register-nope"), 404)


async def test_api_paths_answer_problem_json_even_to_a_browser(
    client: httpx.AsyncClient,
) -> None:
    _assert_problem(await client.get("/api/v1/nope", headers=BROWSER), 404)
    _assert_problem(await client.get("/api/v1/users/me", headers=BROWSER), 401)


async def test_allow_lists_every_method_of_a_path_shared_by_several_routes(
    client: httpx.AsyncClient,
) -> None:
    api = await client.put("/api/v1/connections", json={})
    _assert_problem(api, 405)
    assert api.headers["allow"] == "GET, POST"
    page = await client.put("/login", headers=BROWSER)
    _assert_page(page, 405, "It accepts GET, POST.")
    assert page.headers["allow"] == "GET, POST"


async def test_a_too_large_body_is_an_html_413_for_a_browser_and_a_problem_for_a_client(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(max_request_body_bytes=1024)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        body = {"email": "x" * 4096}
        page = await client.post("/login", data=body, headers=BROWSER)
        _assert_page(page, 413, "Too much data sent", "at most 1024 bytes")
        _assert_problem(await client.post("/login", data=body, headers=JSON), 413)
        _assert_problem(await client.post("/api/v1/auth/login", data=body, headers=BROWSER), 413)


async def test_an_invalid_query_is_an_html_422_for_a_browser_and_a_problem_for_a_client(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def numbered(page: int) -> dict[str, int]:
        return {"page": page}

    app.router.add_api_route("/numbered", numbered, methods=["GET"])
    page = await client.get("/numbered?page=first", headers=BROWSER)
    _assert_page(page, 422, "Some of what was sent is not valid", "query.page")
    problem = await client.get("/numbered?page=first", headers=JSON)
    _assert_problem(problem, 422)
    assert problem.json()["errors"][0]["loc"] == ["query", "page"]


async def test_an_unexpected_error_is_an_html_500_page_that_leaks_nothing(
    app: FastAPI,
) -> None:
    async def explode() -> None:
        raise RuntimeError("database password=hunter2-planted is wrong")

    app.router.add_api_route("/explode", explode, methods=["GET"])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        page = await client.get("/explode", headers={**BROWSER, "X-Request-ID": "boom-2"})
        _assert_page(page, 500, "Something went wrong on our side", "request id boom-2")
        assert "hunter2" not in page.text
        assert page.headers["x-request-id"] == "boom-2"
        problem = await client.get("/explode", headers=JSON)
    _assert_problem(problem, 500)
    assert "hunter2" not in problem.text


async def test_a_missing_static_file_is_a_page_for_a_browser(client: httpx.AsyncClient) -> None:
    _assert_page(await client.get("/static/nope.css", headers=BROWSER), 404, "Page not found")
