"""The dashboard over HTTP: cookie sessions, CSRF, the opportunities board and connections."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI

from factories import AppFactory, register
from gigforge.accounts.tokens import decode_access_token, issue_access_token
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.settings import Settings
from web_support import connect_and_scan, csrf_of, sign_in

ROW = re.compile(r'id="opportunity-([0-9a-f-]{36})"')


def _set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


async def test_login_sets_httponly_samesite_session_cookies(web: httpx.AsyncClient) -> None:
    account = await register(web)
    response = await sign_in(web, account)
    assert response.status_code == 303
    assert response.headers["location"] == "/opportunities"
    for name in ("gigforge_session", "gigforge_refresh"):
        (cookie,) = _set_cookie_headers(response, name)
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # public_url is http here
    board = await web.get("/opportunities")
    assert board.status_code == 200
    assert account.email in board.text


async def test_session_cookies_are_secure_when_the_public_url_is_https(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(public_url="https://gigforge.example.com")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        account = await register(client)
        response = await sign_in(client, account)
    assert response.status_code == 303
    for name in ("gigforge_session", "gigforge_refresh"):
        (cookie,) = _set_cookie_headers(response, name)
        assert "Secure" in cookie


async def test_wrong_password_shows_an_error_and_sets_no_session(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    account.password = "not the password at all"
    response = await sign_in(web, account)
    assert response.status_code == 401
    assert "The email or password is incorrect." in response.text
    assert not _set_cookie_headers(response, "gigforge_session")
    assert not _set_cookie_headers(response, "gigforge_refresh")


async def test_pages_redirect_to_login_with_a_relative_next(web: httpx.AsyncClient) -> None:
    response = await web.get("/opportunities?q=django")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fopportunities%3Fq%3Ddjango"
    account = await register(web)
    signed_in = await sign_in(web, account, next_path="/connections")
    assert signed_in.headers["location"] == "/connections"


async def test_the_icon_is_served_without_signing_in(web: httpx.AsyncClient) -> None:
    login = await web.get("/login")
    assert '<link rel="icon" href="/static/favicon.svg"' in login.text
    for path in ("/favicon.ico", "/static/favicon.svg"):
        response = await web.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.content.startswith(b"<svg")


async def test_login_refuses_an_absolute_next(web: httpx.AsyncClient) -> None:
    account = await register(web)
    response = await sign_in(web, account, next_path="//evil.example.com/phish")
    assert response.headers["location"] == "/opportunities"


async def test_login_without_its_csrf_token_is_refused(web: httpx.AsyncClient) -> None:
    account = await register(web)
    response = await web.post("/login", data={"email": account.email, "password": account.password})
    assert response.status_code == 403
    assert not _set_cookie_headers(response, "gigforge_session")


async def test_posts_without_the_session_csrf_token_are_forbidden(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await connect_and_scan(sandbox_app, web, account)
    await sign_in(web, account)
    board = await web.get("/opportunities")
    opportunity_id = ROW.findall(board.text)[0]
    missing = await web.post(f"/opportunities/{opportunity_id}/dismiss")
    wrong = await web.post(
        f"/opportunities/{opportunity_id}/dismiss", data={"csrf_token": "0" * 64}
    )
    wrong_header = await web.post(
        f"/opportunities/{opportunity_id}/dismiss",
        headers={"X-CSRF-Token": "forged", "HX-Request": "true"},
    )
    logout = await web.post("/logout", data={"csrf_token": "forged"})
    for response in (missing, wrong, wrong_header, logout):
        assert response.status_code == 403
        assert "This form has expired" in response.text
    still = await web.get(f"/api/v1/jobs/opportunities/{opportunity_id}", headers=account.headers)
    assert still.json()["dismissed"] is False


async def test_dismissing_through_the_form_hides_the_opportunity(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await connect_and_scan(sandbox_app, web, account)
    await sign_in(web, account)
    board = await web.get("/opportunities")
    assert "Success probability" in board.text
    assert "Why this score" in board.text
    first, second = ROW.findall(board.text)[:2]

    plain = await web.post(
        f"/opportunities/{first}/dismiss",
        data={"csrf_token": csrf_of(board.text), "return_to": "/opportunities?sort=-score"},
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == "/opportunities?sort=-score"

    with_htmx = await web.post(
        f"/opportunities/{second}/dismiss",
        headers={"X-CSRF-Token": csrf_of(board.text), "HX-Request": "true"},
    )
    assert with_htmx.status_code == 200
    assert "Dismissed" in with_htmx.text
    assert "<html" not in with_htmx.text

    after = await web.get("/opportunities")
    assert first not in after.text
    assert second not in after.text
    api = await web.get(f"/api/v1/jobs/opportunities/{first}", headers=account.headers)
    assert api.json()["dismissed"] is True


async def test_filters_refresh_the_list_as_a_fragment(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await connect_and_scan(sandbox_app, web, account)
    await sign_in(web, account)
    fragment = await web.get(
        "/opportunities",
        params={"q": "zzzz-no-such-words", "min_score": "abc"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "No opportunities match these filters." in fragment.text
    assert "Enter a percentage from 0 to 100." in fragment.text


async def test_another_users_opportunity_cannot_be_dismissed(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    owner = await register(web)
    await connect_and_scan(sandbox_app, web, owner)
    listing = await web.get("/api/v1/jobs/opportunities", headers=owner.headers)
    target = listing.json()["opportunities"][0]["id"]

    intruder = await register(web)
    await sign_in(web, intruder)
    board = await web.get("/opportunities")
    response = await web.post(
        f"/opportunities/{target}/dismiss", data={"csrf_token": csrf_of(board.text)}
    )
    assert response.status_code == 404
    still = await web.get(f"/api/v1/jobs/opportunities/{target}", headers=owner.headers)
    assert still.json()["dismissed"] is False


async def test_connections_page_lists_the_catalog_with_a_generated_key_form(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    await sign_in(web, account)
    page = await web.get("/connections")
    assert page.status_code == 200
    assert "You have not connected anything yet." in page.text
    assert 'action="/connections/upwork/authorize"' in page.text
    assert 'action="/connections/openai"' in page.text
    assert re.search(r'id="openai-api_key"\s+name="config.api_key"\s+type="password"', page.text)
    assert '<label for="openai-api_key">API key' in page.text


async def test_connect_form_creates_a_connection_or_shows_the_problem(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    await sign_in(web, account)
    token = csrf_of((await web.get("/connections")).text)

    refused = await web.post(
        "/connections/openai",
        data={"csrf_token": token, "name": "main", "config.api_key": "sk-wrong"},
    )
    assert refused.status_code == 422
    assert "The integration refused the connection" in refused.text
    assert 'role="alert" id="problem-openai"' in refused.text

    created = await web.post(
        "/connections/openai",
        data={"csrf_token": token, "name": "main", "config.api_key": SANDBOX_API_KEY},
    )
    assert created.status_code == 303
    listed = await web.get("/api/v1/connections", headers=account.headers)
    assert [(c["integration"], c["name"]) for c in listed.json()["items"]] == [("openai", "main")]
    page = await web.get("/connections")
    assert "Active" in page.text
    assert SANDBOX_API_KEY not in page.text


async def test_connect_button_starts_oauth_as_the_cookie_user(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    await sign_in(web, account)
    token = csrf_of((await web.get("/connections")).text)
    start = await web.post("/connections/upwork/authorize", data={"csrf_token": token})
    assert start.status_code == 303
    provider = urlsplit(start.headers["location"])
    assert provider.path == "/sandbox/upwork/ab/account-security/oauth2/authorize"
    query = parse_qs(provider.query)
    assert query["redirect_uri"] == ["http://127.0.0.1:8000/api/v1/connections/upwork/callback"]
    consent = await web.get(f"{provider.path}?{provider.query}")
    back = urlsplit(consent.headers["location"])
    done = await web.get(
        f"{back.path}?{back.query}", headers={"Accept": "text/html"}, follow_redirects=True
    )
    assert done.status_code == 200, done.text
    assert done.url.path == "/connections"
    assert "Connected Upwork (default)." in done.text


async def test_an_expired_access_token_is_refreshed_from_the_refresh_cookie(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await sign_in(web, account)
    old_refresh = web.cookies["gigforge_refresh"]
    settings: Settings = sandbox_app.state.settings
    claims = decode_access_token(settings, web.cookies["gigforge_session"])
    expired, _ = issue_access_token(
        settings.model_copy(update={"access_token_ttl": timedelta(seconds=-60)}),
        user_id=claims.user_id,
        session_id=claims.session_id,
        scopes=claims.scopes,
    )
    web.cookies.delete("gigforge_session")
    web.cookies.set("gigforge_session", expired, domain="testserver.local", path="/")

    page = await web.get("/opportunities")
    assert page.status_code == 200
    assert account.email in page.text
    (new_access,) = _set_cookie_headers(page, "gigforge_session")
    (new_refresh,) = _set_cookie_headers(page, "gigforge_refresh")
    assert expired not in new_access
    assert old_refresh not in new_refresh
    reused = await web.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh})
    assert reused.status_code == 401


async def test_logout_revokes_the_token_family_and_clears_cookies(
    web: httpx.AsyncClient,
) -> None:
    account = await register(web)
    await sign_in(web, account)
    refresh = web.cookies["gigforge_refresh"]
    board = await web.get("/opportunities")
    out = await web.post("/logout", data={"csrf_token": csrf_of(board.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert 'gigforge_session=""' in " ".join(out.headers.get_list("set-cookie"))
    again = await web.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert again.status_code == 401
    assert (await web.get("/opportunities")).status_code == 303
