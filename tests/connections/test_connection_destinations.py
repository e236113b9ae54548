"""Where a member points a connection passes the SSRF guard when it is created: other
schemes, loopback, private and metadata addresses are a 422 and are never contacted, unless
the admin's GIGFORGE_ALLOWED_PRIVATE_HOSTS names them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from factories import AppFactory, register
from gigforge.kit.errors import PROBLEM_TYPE_PREFIX
from gigforge.kit.ssrf import REFUSED_DETAIL
from ssrf_support import listening

CONNECTIONS = "/api/v1/connections"
IMAP_LOGIN = {"username": "me@example.com", "password": "mailbox-password"}


async def _create(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    account = await register(client)
    return await client.post(CONNECTIONS, json=body, headers=account.headers)


def _code(response: httpx.Response) -> str:
    return str(response.json()["type"]).removeprefix(PROBLEM_TYPE_PREFIX)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://ftp.example.com/"]
)
async def test_a_base_url_with_another_scheme_is_a_422(client: httpx.AsyncClient, url: str) -> None:
    response = await _create(
        client, {"integration": "openai", "config": {"api_key": "sk-test"}, "base_url": url}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert _code(response) == "url-scheme-not-allowed"


async def test_a_base_url_on_loopback_is_refused_and_never_contacted(
    client: httpx.AsyncClient,
) -> None:
    async with listening() as listener:
        response = await _create(
            client,
            {
                "integration": "openai",
                "config": {"api_key": "sk-test"},
                "base_url": f"http://127.0.0.1:{listener.port}/v1",
            },
        )
    assert response.status_code == 422
    assert _code(response) == "destination-not-allowed"
    assert response.json()["detail"] == REFUSED_DETAIL
    assert not listener.contacted


async def test_a_base_url_in_the_config_is_checked_too(client: httpx.AsyncClient) -> None:
    async with listening() as listener:
        response = await _create(
            client,
            {
                "integration": "openai",
                "config": {"api_key": "sk-test", "base_url": f"http://localhost:{listener.port}"},
            },
        )
    assert response.status_code == 422
    assert _code(response) == "destination-not-allowed"
    assert not listener.contacted


async def test_the_metadata_address_is_refused(client: httpx.AsyncClient) -> None:
    response = await _create(
        client,
        {
            "integration": "ollama",
            "base_url": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        },
    )
    assert response.status_code == 422
    assert _code(response) == "destination-not-allowed"


async def test_an_imap_host_on_loopback_is_refused_without_contacting_it(
    client: httpx.AsyncClient,
) -> None:
    async with listening() as listener:
        response = await _create(
            client,
            {
                "integration": "imap_alerts",
                "config": {
                    "host": "127.0.0.1",
                    "port": listener.port,
                    "security": "none",
                    **IMAP_LOGIN,
                },
            },
        )
    assert response.status_code == 422
    assert response.json()["detail"] == f"Job alert emails (IMAP): {REFUSED_DETAIL}"
    assert not listener.contacted


async def test_the_allow_list_setting_lets_a_connection_reach_its_host(
    app_factory: AppFactory,
) -> None:
    async with listening() as listener:
        app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{listener.port}"])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await _create(
                client, {"integration": "ollama", "base_url": f"http://127.0.0.1:{listener.port}"}
            )
    # The listener is no Ollama, so the test call fails; what matters is that it was made.
    assert listener.requests[0].startswith(b"GET /api/tags HTTP/1.1")
