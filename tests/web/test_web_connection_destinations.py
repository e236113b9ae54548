"""The dashboard's connect forms refuse private and local destinations in a plain sentence,
and never contact them."""

from __future__ import annotations

import httpx

from factories import register
from gigforge.connections.service import ConnectionTestFailed
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.kit.ssrf import REFUSED_DETAIL
from gigforge.web.pages_connections import failed_check
from ssrf_support import listening
from web_support import csrf_of, sign_in


async def _signed_in_token(web: httpx.AsyncClient) -> str:
    await sign_in(web, await register(web))
    return csrf_of((await web.get("/connections")).text)


async def test_an_imap_server_on_loopback_is_refused_on_the_page_without_contacting_it(
    web: httpx.AsyncClient,
) -> None:
    token = await _signed_in_token(web)
    async with listening() as listener:
        page = await web.post(
            "/connections/imap_alerts",
            data={
                "csrf_token": token,
                "name": "alerts",
                "config.host": "127.0.0.1",
                "config.port": str(listener.port),
                "config.security": "none",
                "config.username": "me@example.com",
                "config.password": "mailbox-password",
            },
        )
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert REFUSED_DETAIL in page.text
    assert 'role="alert" id="problem-imap_alerts"' in page.text
    assert not listener.contacted


async def test_a_base_url_on_loopback_in_a_connect_form_is_refused_on_the_page(
    web: httpx.AsyncClient,
) -> None:
    token = await _signed_in_token(web)
    async with listening() as listener:
        page = await web.post(
            "/connections/openai",
            data={
                "csrf_token": token,
                "name": "self-hosted",
                "config.api_key": SANDBOX_API_KEY,
                "config.base_url": f"http://localhost:{listener.port}/v1",
            },
        )
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert REFUSED_DETAIL in page.text
    assert not listener.contacted


def test_a_check_of_a_refused_destination_says_why_in_one_sentence() -> None:
    refused = ConnectionTestFailed(
        f"Ollama: {REFUSED_DETAIL}",
        integration="ollama",
        cause="integration-destination-not-allowed",
    )
    assert failed_check("Ollama", refused) == (
        "Ollama points at a private or local address, which is not allowed; an admin can "
        "allow it with GIGFORGE_ALLOWED_PRIVATE_HOSTS."
    )
