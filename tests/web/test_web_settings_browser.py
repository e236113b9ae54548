"""The settings pages in headless Chromium against `gigforge serve --sandbox`, checked by axe at
desktop width and at a phone's 390 px. Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh
the documentation's pictures."""

from __future__ import annotations

from pathlib import Path

from test_web_browser import (
    EMAIL,
    PASSWORD,
    Server,
    _assert_accessible,
    _browser_page,
    _register,
    _shots,
    _sign_in,
    server,
    sync_api,
)

from factories import pass_exam_over_http

__all__ = ["server"]  # the fixture, used by name

SETTINGS_PAGES = (
    "/settings",
    "/settings/profile",
    "/settings/auto-approve",
    "/settings/api-keys",
    "/settings/inbound",
    "/settings/audit",
)


def test_fill_the_profile_set_caps_create_a_key_and_an_endpoint_and_read_the_audit_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    pass_exam_over_http(server.base, EMAIL, PASSWORD, 1)  # auto-approve needs level 1
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        sync_api.expect(page.get_by_text("every fit score shows 50/100")).to_be_visible()
        _assert_accessible(page)

        page.get_by_role("link", name="Matching profile").first.click()
        page.get_by_label("Skills").fill("python, django, postgresql")
        page.get_by_label("Minimum budget for fixed-price jobs").fill("1,500.005")
        page.get_by_role("button", name="Save profile").click()
        sync_api.expect(page.get_by_text("USD amounts have at most 2 decimals.")).to_be_visible()
        _assert_accessible(page)
        # The refused save answers 422 on purpose: forget the two reports of it.
        refused = [e for e in errors if "422" in e and e.endswith("/settings/profile")]
        assert len(refused) == 2, errors
        errors[:] = [e for e in errors if e not in refused]
        page.get_by_label("Minimum budget for fixed-price jobs").fill("1,500.00")
        page.get_by_label("Hourly rate").fill("65")
        page.get_by_label("Categories").fill("Web Development\nData Engineering")
        page.get_by_label("Only clients whose payment method is verified").check()
        page.get_by_role("button", name="Save profile").click()
        sync_api.expect(page.get_by_text("Profile saved.")).to_be_visible()
        sync_api.expect(page.get_by_label("Minimum budget for fixed-price jobs")).to_have_value(
            "1500.00"
        )
        page.screenshot(path=str(shots / "settings-profile.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("navigation", name="Settings sections").get_by_role(
            "link", name="Auto-approve"
        ).click()
        sync_api.expect(page.get_by_role("heading", name="Now: off")).to_be_visible()
        page.get_by_label("Approve drafts within these caps without asking me").check()
        page.get_by_label("Largest budget").fill("500")
        page.get_by_label("Lowest chance of winning (%)").fill("85")
        page.get_by_label("Most approvals in 24 hours").fill("3")
        page.get_by_role("button", name="Save rule").click()
        sync_api.expect(page.get_by_role("heading", name="Now: on")).to_be_visible()
        page.screenshot(path=str(shots / "settings-auto-approve.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("navigation", name="Settings sections").get_by_role(
            "link", name="API keys"
        ).click()
        page.get_by_label("Name").fill("CRM sync")
        page.get_by_label("Read opportunities and proposals").check()
        page.get_by_label("Expires").select_option(label="In 90 days")
        page.get_by_role("button", name="Create key").click()
        sync_api.expect(page.get_by_text("copy it now")).to_be_visible()
        key = page.get_by_label("Your new API key").input_value()
        assert key.startswith("gf_")
        sync_api.expect(page.get_by_role("cell", name="CRM sync", exact=True)).to_be_visible()
        page.screenshot(path=str(shots / "settings-api-keys.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("navigation", name="Settings sections").get_by_role(
            "link", name="Inbound webhooks"
        ).click()
        page.get_by_label("Source").fill("fiverr")
        page.get_by_role("button", name="Create endpoint").click()
        sync_api.expect(page.get_by_text("copy the secret now")).to_be_visible()
        assert page.get_by_label("Signing secret").input_value().startswith("gfi_")
        assert page.get_by_label(
            "URL to paste into the automation service (method POST)"
        ).input_value() == (f"{server.base}/api/v1/inbound/fiverr")
        page.screenshot(path=str(shots / "settings-inbound.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("navigation", name="Settings sections").get_by_role(
            "link", name="Audit log"
        ).click()
        sync_api.expect(page.get_by_text("Created an inbound webhook")).to_be_visible()
        sync_api.expect(page.get_by_text("Changed the auto-approve rule")).to_be_visible()
        sync_api.expect(page.get_by_text("Created an API key")).to_be_visible()
        page.screenshot(path=str(shots / "settings-audit.png"), full_page=True)
        _assert_accessible(page)

        # A phone's width: one column, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        for path in SETTINGS_PAGES:
            page.goto(f"{server.base}{path}")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
            _assert_accessible(page)
    assert errors == []
