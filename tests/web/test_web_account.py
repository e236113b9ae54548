"""Accounts in the dashboard over HTTP: sign-up, forgotten passwords and the account page."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from factories import DEFAULT_PASSWORD, Account, AppFactory, register
from gigforge.accounts.models import AuthSession, RefreshToken, User
from gigforge.accounts.tokens import hash_opaque_token
from gigforge.audit.models import AuditRecord
from gigforge.kit.clock import utcnow
from gigforge.settings import Settings
from gigforge.web.pages_account import describe_user_agent
from web_support import csrf_of, sign_in

NEW_PASSWORD = "a brand new passphrase"
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile"
SESSION_ROW = re.compile(r'id="session-([0-9a-f-]{36})"')


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"},
    ) as client:
        yield client


async def _sign_up(
    client: httpx.AsyncClient,
    *,
    email: str = "grace@example.com",
    full_name: str = "Grace Hopper",
    password: str = DEFAULT_PASSWORD,
    csrf_token: str | None = None,
) -> httpx.Response:
    page = await client.get("/register")
    return await client.post(
        "/register",
        data={
            "email": email,
            "full_name": full_name,
            "password": password,
            "csrf_token": csrf_of(page.text) if csrf_token is None else csrf_token,
        },
    )


def _outbox(settings: Settings) -> list[Message]:
    folder = settings.data_dir / "outbox"
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [message_from_bytes(Path(path).read_bytes()) for path in files]


def _reset_link(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"https?://\S+/reset-password\?code=gfp_[A-Za-z0-9_-]+", body.decode())
    assert found is not None, body.decode()
    parts = urlsplit(found.group(0))
    return f"{parts.path}?{parts.query}"


async def _post_form(
    client: httpx.AsyncClient, page: str, action: str, **fields: str
) -> httpx.Response:
    shown = await client.get(page)
    return await client.post(action, data={"csrf_token": csrf_of(shown.text), **fields})


async def _signed_in(client: httpx.AsyncClient) -> Account:
    """An account made through the API (one session) and signed in here (a second one)."""
    account = await register(client)
    assert (await sign_in(client, account)).status_code == 303
    return account


# Sign-up


async def test_sign_up_signs_the_browser_in_and_lands_on_the_dashboard(
    browser: httpx.AsyncClient,
) -> None:
    response = await _sign_up(browser)
    assert response.status_code == 303
    assert response.headers["location"] == "/opportunities"
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("gigforge_session=") and "HttpOnly" in c for c in cookies)
    account = await browser.get("/account")
    assert account.status_code == 200
    assert 'value="Grace Hopper"' in account.text
    assert "grace@example.com" in account.text
    assert "Firefox on Linux" in account.text
    assert "This browser" in account.text


async def test_sign_up_errors_keep_what_was_typed_except_the_password(
    browser: httpx.AsyncClient,
) -> None:
    weak = await _sign_up(browser, password="grace hopper rules")
    assert weak.status_code == 422
    assert weak.headers["content-type"].startswith("text/html")
    assert "must not contain your name" in weak.text
    assert 'value="grace@example.com"' in weak.text
    assert 'value="Grace Hopper"' in weak.text
    assert "grace hopper rules" not in weak.text
    assert 'id="password" name="password" type="password" autocomplete' in weak.text
    assert 'aria-invalid="true"' in weak.text

    invalid = await _sign_up(browser, email="not-an-email", full_name="  ")
    assert invalid.status_code == 422
    assert "Enter your name." in invalid.text
    assert "@-sign" in invalid.text
    assert 'value="not-an-email"' in invalid.text
    assert "gigforge_session" not in (invalid.headers.get("set-cookie") or "")


async def test_sign_up_with_a_taken_email_says_so_beside_the_email(
    browser: httpx.AsyncClient,
) -> None:
    await register(browser, email="grace@example.com")
    taken = await _sign_up(browser, email="Grace@Example.com")
    assert taken.status_code == 409
    assert "An account already uses this email." in taken.text
    assert 'value="Grace@Example.com"' in taken.text


async def test_sign_up_without_its_form_token_is_refused(browser: httpx.AsyncClient) -> None:
    refused = await _sign_up(browser, csrf_token="forged")
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    listing = await register(browser)  # the first account is the admin who may list users
    users = await browser.get("/api/v1/users", headers=listing.headers)
    assert [user["email"] for user in users.json()["items"]] == [listing.email]


async def test_closed_registration_shows_a_closed_page_and_no_sign_up_link(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(allow_registration=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/register")
        assert page.status_code == 200
        assert "Registration is closed on this server" in page.text
        assert "<form" not in page.text.split("<main", 1)[1]
        login = await client.get("/login")
        assert 'href="/register"' not in login.text
        assert 'href="/forgot-password"' in login.text
        posted = await client.post(
            "/register",
            data={
                "email": "grace@example.com",
                "full_name": "Grace Hopper",
                "password": DEFAULT_PASSWORD,
                "csrf_token": csrf_of(login.text),
            },
        )
        assert posted.status_code == 403
        assert "Registration is closed on this server" in posted.text
        assert not posted.cookies.get("gigforge_session")


async def test_a_burst_of_sign_ups_from_one_address_is_refused_with_a_wait(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(registrations_per_ip=1)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await _sign_up(client)).status_code == 303
        client.cookies.clear()
        refused = await _sign_up(client, email="alan@example.com", full_name="Alan Turing")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"].startswith("text/html")
    assert "Too many sign-ups from this address" in refused.text
    assert 'value="alan@example.com"' in refused.text
    assert 'value="Alan Turing"' in refused.text
    assert "gigforge_session" not in (refused.headers.get("set-cookie") or "")


async def test_login_links_to_sign_up_and_to_the_forgotten_password_page(
    browser: httpx.AsyncClient,
) -> None:
    login = await browser.get("/login")
    assert 'href="/register"' in login.text
    assert ">Forgot your password?</a>" in login.text
    for path in ("/register", "/forgot-password", "/reset-password"):
        page = await browser.get(path)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert 'name="csrf_token"' in page.text


# Forgotten password


async def test_forgot_password_answers_the_same_whether_the_account_exists(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(browser)
    unknown = await _post_form(
        browser, "/forgot-password", "/forgot-password", email="nobody@example.com"
    )
    known = await _post_form(browser, "/forgot-password", "/forgot-password", email=account.email)
    assert unknown.status_code == known.status_code == 200
    neutral = "an email with a link to choose a new password is on its way"
    assert neutral in unknown.text
    assert neutral in known.text
    [message] = _outbox(settings)
    assert message["To"] == account.email


async def test_forgot_password_with_a_malformed_email_is_a_form_error(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    response = await _post_form(browser, "/forgot-password", "/forgot-password", email="nope")
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert _outbox(settings) == []


async def test_the_emailed_link_opens_the_reset_page_and_sets_a_new_password(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(browser)
    await _post_form(browser, "/forgot-password", "/forgot-password", email=account.email)
    link = _reset_link(_outbox(settings)[0])
    form = await browser.get(link)
    assert form.status_code == 200
    code = link.split("code=", 1)[1]
    assert f'name="code" value="{code}"' in form.text

    done = await browser.post(
        "/reset-password",
        data={
            "csrf_token": csrf_of(form.text),
            "code": code,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert done.status_code == 200
    assert "Your password is changed" in done.text
    assert 'href="/login"' in done.text
    assert (await browser.get("/api/v1/users/me", headers=account.headers)).status_code == 401
    account.password = NEW_PASSWORD
    assert (await sign_in(browser, account)).status_code == 303

    spent = await browser.get(link)
    assert spent.status_code == 400
    assert "This link no longer works" in spent.text
    assert 'href="/forgot-password"' in spent.text


async def test_reset_with_a_bad_code_says_the_link_no_longer_works(
    browser: httpx.AsyncClient,
) -> None:
    page = await browser.get("/reset-password?code=gfp_not-a-real-code")
    assert page.status_code == 400
    assert "The reset link is invalid, already used or expired." in page.text
    posted = await _post_form(
        browser,
        "/reset-password",
        "/reset-password",
        code="gfp_not-a-real-code",
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert posted.status_code == 400
    assert "This link no longer works" in posted.text


async def test_reset_with_a_weak_or_mistyped_password_keeps_the_code_usable(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(browser)
    await _post_form(browser, "/forgot-password", "/forgot-password", email=account.email)
    link = _reset_link(_outbox(settings)[0])
    code = link.split("code=", 1)[1]

    async def attempt(new: str, again: str) -> httpx.Response:
        return await _post_form(
            browser, link, "/reset-password", code=code, new_password=new, confirm_password=again
        )

    mistyped = await attempt(NEW_PASSWORD, NEW_PASSWORD + "!")
    assert mistyped.status_code == 422
    assert "The two passwords differ" in mistyped.text
    weak = await attempt("short", "short")
    assert weak.status_code == 422
    assert "Password must be at least 10 characters" in weak.text
    assert f'name="code" value="{code}"' in weak.text
    assert (await attempt(NEW_PASSWORD, NEW_PASSWORD)).status_code == 200


# The account page


async def test_account_page_needs_a_session(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount"


async def test_account_page_lists_live_sessions_with_this_browser_first(
    browser: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    account = await register(browser)
    await browser.post(
        "/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"User-Agent": PHONE},
    )
    await sign_in(browser, account)
    stale = await browser.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    stale_id = await _session_of(session, stale.json()["refresh_token"])
    await session.execute(
        update(AuthSession)
        .where(AuthSession.id == stale_id)
        .values(last_used_at=utcnow() - settings.refresh_token_ttl - timedelta(minutes=1))
    )
    await session.commit()

    page = await browser.get("/account")
    rows = SESSION_ROW.findall(page.text)
    assert len(rows) == 3  # API sign-up, the phone, this browser; not the expired one
    assert str(stale_id) not in rows
    first = page.text.split('id="session-', 2)[1]
    assert "Firefox on Linux" in first
    assert "This browser" in first
    assert "Chrome on Android" in page.text
    assert "from 203.0.113.9" in page.text
    assert "Sign out everywhere else (2)" in page.text


async def _session_of(session: AsyncSession, refresh_token: str) -> uuid.UUID:
    row = await session.execute(
        select(RefreshToken.session_id).where(
            RefreshToken.token_hash == hash_opaque_token(refresh_token)
        )
    )
    return row.scalar_one()


async def test_changing_the_email_needs_the_current_password(
    browser: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await _signed_in(browser)
    fields = {"full_name": "Ada King", "email": "countess@example.com"}
    missing = await _post_form(browser, "/account", "/account/profile", **fields)
    assert missing.status_code == 422
    assert "Enter your current password to make this change." in missing.text
    assert 'value="countess@example.com"' in missing.text
    wrong = await _post_form(
        browser, "/account", "/account/profile", current_password="wrong password!", **fields
    )
    assert wrong.status_code == 403
    assert "The current password is incorrect." in wrong.text
    user = await session.get(User, uuid.UUID(account.user_id))
    assert user is not None
    assert (user.email, user.full_name) == (account.email, "Ada Lovelace")

    saved = await _post_form(
        browser, "/account", "/account/profile", current_password=account.password, **fields
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == "/account?done=profile"
    page = await browser.get(saved.headers["location"])
    assert "Your profile is saved." in page.text
    assert 'value="Ada King"' in page.text
    await session.refresh(user)
    assert (user.email, user.full_name) == ("countess@example.com", "Ada King")
    actions = (
        await session.execute(select(AuditRecord.action).where(AuditRecord.user_id == user.id))
    ).scalars()
    assert "user.email_changed" in set(actions)


async def test_a_taken_email_leaves_the_name_unchanged_too(
    browser: httpx.AsyncClient, session: AsyncSession
) -> None:
    other = await register(browser)
    account = await _signed_in(browser)
    taken = await _post_form(
        browser,
        "/account",
        "/account/profile",
        full_name="Ada King",
        email=other.email,
        current_password=account.password,
    )
    assert taken.status_code == 409
    assert "Another account already uses this email." in taken.text
    user = await session.get(User, uuid.UUID(account.user_id))
    assert user is not None
    assert user.full_name == "Ada Lovelace"


async def test_changing_only_the_name_needs_no_password(
    browser: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await _signed_in(browser)
    saved = await _post_form(
        browser, "/account", "/account/profile", full_name="Ada King", email=account.email
    )
    assert saved.status_code == 303
    user = await session.get(User, uuid.UUID(account.user_id))
    assert user is not None
    assert user.full_name == "Ada King"


async def test_changing_the_password_signs_out_other_sessions_but_not_this_browser(
    browser: httpx.AsyncClient,
) -> None:
    account = await _signed_in(browser)
    wrong = await _post_form(
        browser,
        "/account",
        "/account/password",
        current_password="not my password",
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert wrong.status_code == 403
    assert "The current password is incorrect." in wrong.text
    weak = await _post_form(
        browser,
        "/account",
        "/account/password",
        current_password=account.password,
        new_password="short",
        confirm_password="short",
    )
    assert weak.status_code == 422
    assert "Password must be at least 10 characters" in weak.text
    assert (await browser.get("/api/v1/users/me", headers=account.headers)).status_code == 200

    changed = await _post_form(
        browser,
        "/account",
        "/account/password",
        current_password=account.password,
        new_password=NEW_PASSWORD,
        confirm_password=NEW_PASSWORD,
    )
    assert changed.status_code == 303
    page = await browser.get(changed.headers["location"])
    assert page.status_code == 200
    assert "Your other sessions were signed out." in page.text
    assert (await browser.get("/api/v1/users/me", headers=account.headers)).status_code == 401
    login = await browser.post(
        "/api/v1/auth/login", json={"email": account.email, "password": NEW_PASSWORD}
    )
    assert login.status_code == 200


async def test_signing_out_another_session_ends_it_and_is_audited(
    browser: httpx.AsyncClient, session: AsyncSession
) -> None:
    account = await _signed_in(browser)
    api_session = await _session_of(session, account.refresh_token)
    page = await browser.get("/account")
    assert str(api_session) in SESSION_ROW.findall(page.text)
    ended = await browser.post(
        f"/account/sessions/{api_session}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert ended.status_code == 303
    assert ended.headers["location"] == "/account?done=session"
    assert (await browser.get("/api/v1/users/me", headers=account.headers)).status_code == 401
    after = await browser.get("/account")
    assert str(api_session) not in SESSION_ROW.findall(after.text)
    assert "You are not signed in anywhere else." in after.text
    record = (
        await session.execute(
            select(AuditRecord).where(
                AuditRecord.action == "auth.session_revoked",
                AuditRecord.target_id == str(api_session),
            )
        )
    ).scalar_one()
    assert record.actor_user_id == uuid.UUID(account.user_id)
    assert record.data == {"reason": "signed_out_by_user"}


async def test_signing_out_everywhere_else_keeps_this_browser(
    browser: httpx.AsyncClient,
) -> None:
    account = await _signed_in(browser)
    again = await browser.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    ended = await _post_form(browser, "/account", "/account/sessions/others/revoke")
    assert ended.status_code == 303
    for token in (account.access_token, again.json()["access_token"]):
        me = await browser.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    assert ended.headers["location"] == "/account?done=others"
    page = await browser.get(ended.headers["location"])
    assert page.status_code == 200
    assert "Every other session is signed out" in page.text
    assert "You are not signed in anywhere else." in page.text
    assert len(SESSION_ROW.findall(page.text)) == 1


async def test_another_users_session_cannot_be_signed_out(
    browser: httpx.AsyncClient, session: AsyncSession
) -> None:
    stranger = await register(browser)
    strangers_session = await _session_of(session, stranger.refresh_token)
    await _signed_in(browser)
    page = await browser.get("/account")
    for target in (str(strangers_session), "not-a-uuid"):
        refused = await browser.post(
            f"/account/sessions/{target}/revoke", data={"csrf_token": csrf_of(page.text)}
        )
        assert refused.status_code == 404
        assert "No such session" in refused.text
    assert (await browser.get("/api/v1/users/me", headers=stranger.headers)).status_code == 200


async def test_signing_out_this_browser_from_the_list_signs_it_out(
    browser: httpx.AsyncClient,
) -> None:
    await _signed_in(browser)
    page = await browser.get("/account")
    this_browser = SESSION_ROW.findall(page.text)[0]
    ended = await browser.post(
        f"/account/sessions/{this_browser}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert ended.status_code == 303
    assert ended.headers["location"] == "/login"
    assert (await browser.get("/account")).status_code == 303


async def test_session_forms_need_the_session_csrf_token(browser: httpx.AsyncClient) -> None:
    account = await _signed_in(browser)
    for action in ("/account/profile", "/account/password", "/account/sessions/others/revoke"):
        refused = await browser.post(
            action, data={"csrf_token": "forged", "full_name": "Mallory", "email": account.email}
        )
        assert refused.status_code == 403, action
        assert "This form has expired" in refused.text
    assert (await browser.get("/api/v1/users/me", headers=account.headers)).json()[
        "full_name"
    ] == "Ada Lovelace"


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        (PHONE, "Chrome on Android"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605 Safari/605",
            "Safari on macOS",
        ),
        ("Mozilla/5.0 (Windows NT 10.0) Chrome/126.0 Safari/537.36 Edg/126.0", "Edge on Windows"),
        ("python-httpx/0.28.1", "httpx"),
        (None, "Unknown device"),
        ("x" * 80, "x" * 60 + "\u2026"),
    ],
)
def test_user_agents_are_described_in_words(user_agent: str | None, described: str) -> None:
    assert describe_user_agent(user_agent) == described
