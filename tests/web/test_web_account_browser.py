"""Sign-up, the account page and a forgotten password in headless Chromium against
`gigforge serve --sandbox`, checked by axe at desktop width and at a phone's 390 px. Set
GIGFORGE_SCREENSHOTS=docs/screenshots to refresh the documentation's pictures."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

import httpx
from test_web_browser import (
    EMAIL,
    PASSWORD,
    Server,
    _assert_accessible,
    _browser_page,
    _shots,
    server,
    sync_api,
)

__all__ = ["server"]  # the fixture, used by name

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile"
NEW_PASSWORD = "a new passphrase from the emailed link"


def _fits_a_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    _assert_accessible(page)


def _reset_link(server: Server) -> str:
    outbox = Path(server.env["GIGFORGE_DATA_DIR"]) / "outbox"
    # The page answers before the mail is written (it is sent after the response): wait for it.
    for _ in range(300):
        written = sorted(outbox.glob("*.eml"))
        if written:
            break
        time.sleep(0.1)
    [eml] = written
    body = message_from_bytes(eml.read_bytes()).get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(re.escape(server.base) + r"/reset-password\?code=\S+", body.decode())
    assert found is not None, body.decode()
    return found.group(0)


def test_sign_up_manage_sessions_and_reset_the_password_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    errors: list[str] = []
    with _browser_page(errors) as page:
        page.goto(f"{server.base}/login")
        page.get_by_role("link", name="Create an account").click()
        page.wait_for_url(f"{server.base}/register")
        page.get_by_label("Full name").fill("Ada Lovelace")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill("lovelace and babbage")
        page.get_by_role("button", name="Create account").click()
        sync_api.expect(page.get_by_text("Password must not contain your name.")).to_be_visible()
        sync_api.expect(page.get_by_label("Email")).to_have_value(EMAIL)
        sync_api.expect(page.get_by_label("Password")).to_have_value("")
        _assert_accessible(page)
        # The refused sign-up is a 422 on purpose; Chromium reports it twice.
        errors[:] = [e for e in errors if not e.endswith(f"{server.base}/register")]

        page.get_by_label("Password").fill(PASSWORD)
        page.screenshot(path=str(shots / "register.png"), full_page=True)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{server.base}/opportunities")

        phone = httpx.post(
            f"{server.base}/api/v1/auth/login",
            json={"email": EMAIL, "password": PASSWORD},
            headers={"User-Agent": PHONE},
        )
        assert phone.status_code == 200
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
        sync_api.expect(page.get_by_role("heading", name="Your account")).to_be_visible()
        sync_api.expect(page.get_by_text("This browser", exact=True)).to_be_visible()
        sync_api.expect(page.get_by_text("Chrome on Android")).to_be_visible()
        page.screenshot(path=str(shots / "account.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("button", name="Sign out everywhere else (1)").click()
        sync_api.expect(page.get_by_text("Every other session is signed out")).to_be_visible()
        assert page.get_by_text("Chrome on Android").count() == 0
        me = httpx.get(
            f"{server.base}/api/v1/users/me",
            headers={"Authorization": f"Bearer {phone.json()['access_token']}"},
        )
        assert me.status_code == 401

        page.get_by_label("Full name").fill("Ada King")
        page.get_by_role("button", name="Save profile").click()
        sync_api.expect(page.get_by_text("Your profile is saved.")).to_be_visible()
        sync_api.expect(page.get_by_label("Full name")).to_have_value("Ada King")

        page.set_viewport_size({"width": 390, "height": 844})
        _fits_a_phone(page)
        page.get_by_role("button", name="Sign out", exact=True).click()
        page.wait_for_url(f"{server.base}/login")
        _fits_a_phone(page)
        for path in ("/register", "/forgot-password"):
            page.goto(f"{server.base}{path}")
            _fits_a_phone(page)

        page.get_by_label("Email").fill(EMAIL)
        page.get_by_role("button", name="Send the reset link").click()
        sync_api.expect(page.get_by_text("is on its way")).to_be_visible()
        _fits_a_phone(page)

        page.goto(_reset_link(server))
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        _fits_a_phone(page)
        page.get_by_role("button", name="Set the new password").click()
        sync_api.expect(
            page.get_by_role("heading", name="Your password is changed")
        ).to_be_visible()
        page.get_by_role("link", name="Sign in").click()
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{server.base}/opportunities")
    assert errors == []
