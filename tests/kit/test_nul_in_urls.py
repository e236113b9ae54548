"""A NUL character in a URL is a 400 before any route or database sees it (PostgreSQL text
cannot hold one): problem+json for API clients, the error page for a browser."""

from __future__ import annotations

import httpx
import pytest

from factories import register

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/connections/%00",
        "/api/v1/connections/%00abc/authorize",
        "/api/v1/jobs/opportunities/%00abc",
        "/api/v1/inbound/%00abc",
        "/api/v1/jobs/opportunities?q=%00",
        "/api/v1/jobs/opportunities?platform=up%00work",
    ],
)
async def test_a_nul_in_an_api_url_is_a_400_problem(client: httpx.AsyncClient, path: str) -> None:
    account = await register(client)
    response = await client.get(path, headers=account.headers)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:gigforge:problem:nul-in-url"
    assert "\x00" not in response.text


async def test_a_nul_in_a_dashboard_url_is_the_400_error_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/opportunities/%00abc", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "NUL character" in response.text


async def test_a_post_with_a_nul_in_its_path_is_refused_too(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/inbound/fi%00verr", content=b"{}")
    assert response.status_code == 400
