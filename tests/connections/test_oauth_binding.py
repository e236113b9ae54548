"""An OAuth flow is finished only by the user, and the browser, that started it.

Without this, an attacker could start a flow, send the authorization URL to a victim, and the
victim's consent would link the victim's marketplace account to the attacker's Gigforge
account. Every refusal leaves the flow intact for its owner.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from factories import Account, register
from web_support import csrf_of, sign_in

CONNECTIONS = "/api/v1/connections"
OWN_CALLBACK = "http://127.0.0.1:8000/api/v1/connections/upwork/callback"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@asynccontextmanager
async def _browser(app: FastAPI, ip: str = "203.0.113.20") -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar: one person's browser."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _start(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    """Start through the API and consent at the sandbox: the query the provider sends back."""
    start = await client.get(
        f"{CONNECTIONS}/upwork/authorize", params={"redirect": "false"}, headers=account.headers
    )
    assert start.status_code == 200, start.text
    url = urlsplit(start.json()["authorize_url"])
    assert parse_qs(url.query)["redirect_uri"] == [OWN_CALLBACK]
    consent = await client.get(f"{url.path}?{url.query}")
    assert consent.status_code == 302, consent.text
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    return {"code": back["code"][0], "state": back["state"][0]}


async def _connections(client: httpx.AsyncClient, account: Account) -> list[tuple[str, str]]:
    listed = await client.get(CONNECTIONS, headers=account.headers)
    return [(item["integration"], item["name"]) for item in listed.json()["items"]]


async def test_the_user_who_started_the_flow_finishes_it_and_owns_the_connection(
    sandbox_app: FastAPI,
) -> None:
    async with _browser(sandbox_app) as client:
        owner = await register(client)
        other = await register(client)
        back = await _start(client, owner)
        done = await client.get(
            f"{CONNECTIONS}/upwork/callback", params=back, headers=owner.headers
        )
        assert done.status_code == 200, done.text
        assert "gigforge_oauth_nonce" not in client.cookies
        assert await _connections(client, owner) == [("upwork", "default")]
        assert await _connections(client, other) == []


async def test_a_callback_from_another_users_session_is_refused_and_uses_nothing_up(
    sandbox_app: FastAPI,
) -> None:
    async with _browser(sandbox_app) as client:
        attacker = await register(client)
        victim = await register(client)
        back = await _start(client, attacker)
        # Even with the starting browser's cookie, another signed-in user cannot finish it.
        refused = await client.get(
            f"{CONNECTIONS}/upwork/callback", params=back, headers=victim.headers
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"].endswith("oauth-flow-refused")
        assert "another Gigforge account" in refused.json()["detail"]
        assert await _connections(client, victim) == []
        assert await _connections(client, attacker) == []
        done = await client.get(
            f"{CONNECTIONS}/upwork/callback", params=back, headers=attacker.headers
        )
        assert done.status_code == 200, done.text
        assert await _connections(client, attacker) == [("upwork", "default")]


async def test_a_callback_from_a_browser_without_the_cookie_is_refused(
    sandbox_app: FastAPI,
) -> None:
    async with _browser(sandbox_app) as starter, _browser(sandbox_app, "203.0.113.21") as other:
        account = await register(starter)
        back = await _start(starter, account)
        refused = await other.get(
            f"{CONNECTIONS}/upwork/callback", params=back, headers=account.headers
        )
        assert refused.status_code == 403, refused.text
        assert "not started in this browser" in refused.json()["detail"]
        other.cookies.set("gigforge_oauth_nonce", "a-guess-at-the-nonce")
        guessed = await other.get(
            f"{CONNECTIONS}/upwork/callback", params=back, headers=account.headers
        )
        assert guessed.status_code == 403
        assert await _connections(starter, account) == []
        done = await starter.get(
            f"{CONNECTIONS}/upwork/callback", params=back, headers=account.headers
        )
        assert done.status_code == 200, done.text


async def test_a_callback_with_nobody_signed_in_is_refused(sandbox_app: FastAPI) -> None:
    async with _browser(sandbox_app) as client:
        account = await register(client)
        back = await _start(client, account)
        anonymous = await client.get(f"{CONNECTIONS}/upwork/callback", params=back)
        assert anonymous.status_code == 401, anonymous.text
        relayed = await client.post(f"{CONNECTIONS}/upwork/callback", json=back)
        assert relayed.status_code == 401
        done = await client.post(
            f"{CONNECTIONS}/upwork/callback", json=back, headers=account.headers
        )
        assert done.status_code == 201, done.text


async def test_a_foreign_redirect_uri_is_refused(sandbox_app: FastAPI) -> None:
    async with _browser(sandbox_app) as client:
        account = await register(client)
        for foreign in (
            "https://evil.example/callback",
            "http://127.0.0.1:9999/callback",
            f"{OWN_CALLBACK}/../../../elsewhere",
        ):
            refused = await client.get(
                f"{CONNECTIONS}/upwork/authorize",
                params={"redirect": "false", "redirect_uri": foreign},
                headers=account.headers,
            )
            assert refused.status_code == 400, refused.text
            assert refused.json()["type"].endswith("redirect-uri-refused")
        own = await client.get(
            f"{CONNECTIONS}/upwork/authorize",
            params={"redirect": "false", "redirect_uri": OWN_CALLBACK},
            headers=account.headers,
        )
        assert own.status_code == 200, own.text


async def _dashboard_start(browser: httpx.AsyncClient) -> str:
    """Click Connect Upwork on the Connections page and consent: the provider's redirect."""
    token = csrf_of((await browser.get("/connections")).text)
    start = await browser.post("/connections/upwork/authorize", data={"csrf_token": token})
    assert start.status_code == 303, start.text
    provider = urlsplit(start.headers["location"])
    consent = await browser.get(f"{provider.path}?{provider.query}")
    back = urlsplit(consent.headers["location"])
    assert back.path == "/api/v1/connections/upwork/callback"
    return f"{back.path}?{back.query}"


async def test_a_dashboard_flow_lands_on_the_connections_page_with_a_message(
    sandbox_app: FastAPI,
) -> None:
    async with _browser(sandbox_app) as browser:
        account = await register(browser)
        await sign_in(browser, account)
        callback = await _dashboard_start(browser)
        hop = await browser.get(callback, headers=BROWSER)
        assert hop.status_code == 303
        assert hop.headers["location"].startswith("/connections/upwork/callback?")
        done = await browser.get(callback, headers=BROWSER, follow_redirects=True)
        assert done.status_code == 200
        assert done.headers["content-type"].startswith("text/html")
        assert done.url.path == "/connections"
        assert "Connected Upwork (default)." in done.text
        assert await _connections(browser, account) == [("upwork", "default")]


async def test_a_victim_finishing_an_attackers_dashboard_flow_is_shown_a_refusal(
    sandbox_app: FastAPI,
) -> None:
    async with (
        _browser(sandbox_app) as attacker_browser,
        _browser(sandbox_app, "198.51.100.4") as victim_browser,
    ):
        attacker = await register(attacker_browser)
        victim = await register(victim_browser)
        await sign_in(attacker_browser, attacker)
        await sign_in(victim_browser, victim)
        callback = await _dashboard_start(attacker_browser)

        refused = await victim_browser.get(callback, headers=BROWSER, follow_redirects=True)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert "another Gigforge account" in refused.text
        assert "Connected Upwork" not in refused.text
        assert await _connections(victim_browser, victim) == []
        assert await _connections(attacker_browser, attacker) == []

        done = await attacker_browser.get(callback, headers=BROWSER, follow_redirects=True)
        assert "Connected Upwork (default)." in done.text
        assert await _connections(attacker_browser, attacker) == [("upwork", "default")]


async def test_a_signed_out_browser_is_asked_to_sign_in_and_then_finishes(
    sandbox_app: FastAPI,
) -> None:
    async with _browser(sandbox_app) as browser:
        account = await register(browser)
        await sign_in(browser, account)
        callback = await _dashboard_start(browser)
        browser.cookies.delete("gigforge_session")
        browser.cookies.delete("gigforge_refresh")
        asked = await browser.get(callback, headers=BROWSER, follow_redirects=True)
        assert asked.url.path == "/login"
        next_path = parse_qs(asked.url.query.decode())["next"][0]
        assert next_path.startswith("/connections/upwork/callback?")
        signed_in = await sign_in(browser, account, next_path=next_path)
        done = await browser.get(signed_in.headers["location"], follow_redirects=True)
        assert "Connected Upwork (default)." in done.text


async def test_a_provider_denial_is_explained_on_the_connections_page(
    sandbox_app: FastAPI,
) -> None:
    async with _browser(sandbox_app) as browser:
        account = await register(browser)
        await sign_in(browser, account)
        callback = urlsplit(await _dashboard_start(browser))
        state = parse_qs(callback.query)["state"][0]
        denied = await browser.get(
            f"{callback.path}?state={state}&error=access_denied",
            headers=BROWSER,
            follow_redirects=True,
        )
        assert denied.status_code == 400
        assert denied.headers["content-type"].startswith("text/html")
        assert (
            '<p class="error" role="alert">The provider did not give access (access_denied).'
            in (denied.text)
        )
        assert await _connections(browser, account) == []
        forged = await browser.get(
            f"{callback.path}?state={'x' * 43}&code=abc", headers=BROWSER, follow_redirects=True
        )
        assert forged.status_code == 400
        assert "The authorization is unknown, used or expired; start again" in forged.text
