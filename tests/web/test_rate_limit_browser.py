"""A person who submits the sign-in form too often gets the dashboard's 429 page, in headless
Chromium against `gigforge serve`, checked by axe. Set GIGFORGE_SCREENSHOTS=docs/screenshots to
refresh docs/screenshots/rate-limited.png."""

from __future__ import annotations

from pathlib import Path

from test_web_browser import _assert_accessible, _browser_page, _shots, sync_api

from serving import serving


def test_too_many_sign_ins_show_a_page_that_says_how_long_to_wait(tmp_path: Path) -> None:
    shots = _shots(tmp_path)
    errors: list[str] = []
    with serving(tmp_path, RATE_LIMIT_AUTH="2/minute") as server, _browser_page(errors) as page:
        for _ in range(3):
            page.goto(f"{server.base}/login")
            page.get_by_label("Email").fill("someone@example.com")
            page.get_by_label("Password").fill("not the right password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
        sync_api.expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
        sync_api.expect(page.get_by_text("try again in")).to_be_visible()
        page.screenshot(path=str(shots / "rate-limited.png"), full_page=True)
        _assert_accessible(page)
    statuses = [error.split()[0] for error in errors if error.startswith(("4", "5"))]
    assert statuses[-1] == "429"
    assert not [status for status in statuses if status.startswith("5")]
    assert not [error for error in errors if "/static/" in error]
