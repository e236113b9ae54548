"""The dashboard in headless Chromium against `gigforge serve --sandbox` on a loopback port.

Uses Debian's /usr/bin/chromium (never a downloaded browser). Set GIGFORGE_SCREENSHOTS to a
folder (the docs use docs/screenshots) to keep the page screenshots; otherwise they go to the
test's temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from serving import Server, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "ada@example.com"
PASSWORD = "served passphrase for the dashboard"

if not CHROMIUM.exists():
    pytest.skip(
        "Browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Browser tests need playwright (pip install playwright)"
)
axe = pytest.importorskip(
    "axe_playwright_python.sync_playwright",
    reason="Accessibility checks need axe-playwright-python (the dev extra)",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The real server in sandbox mode; the scan worker is off so the test decides when to scan."""
    with serving(tmp_path, "--sandbox", EMBEDDED_WORKER="false") as served:
        yield served


def _gigforge(server: Server, *args: str) -> None:
    """A CLI command on the served database; without --sandbox it reaches the served
    sandboxes over the loopback, the ones that issued the connections' tokens."""
    done = subprocess.run(
        [sys.executable, "-m", "gigforge", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _scan(server: Server, source: str) -> None:
    _gigforge(server, "scan", "--user", EMAIL, "--source", source)


def _register(server: Server) -> None:
    registered = httpx.post(
        f"{server.base}/api/v1/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "full_name": "Ada Lovelace"},
    )
    assert registered.status_code == 201, registered.text


@contextmanager
def _browser_page(errors: list[str]) -> Iterator[Any]:
    """Chromium with one page that records console errors and failed responses."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on(
                "console",
                lambda m: (
                    errors.append(f"{m.text} {m.location.get('url', '')}")
                    if m.type == "error"
                    else None
                ),
            )
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            yield page
        finally:
            browser.close()


def _assert_accessible(page: Any) -> None:
    """axe-core's WCAG checks on the page as shown: no violation of any impact."""
    results = axe.Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _sign_in(page: Any, server: Server, shots: Path | None = None) -> None:
    """Through the form, from a page that needs it; `shots` keeps a look at the form."""
    page.goto(f"{server.base}/opportunities")
    assert page.url.startswith(f"{server.base}/login?next=")
    page.get_by_label("Email").fill(EMAIL)
    if shots is not None:
        page.screenshot(path=str(shots / "login.png"), full_page=True)
        _assert_accessible(page)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.base}/opportunities")


def _connect_oauth(page: Any, server: Server, title: str, slug: str) -> None:
    page.goto(f"{server.base}/connections")
    page.get_by_role("button", name=f"Connect {title}").click()
    page.wait_for_url(lambda url: url.startswith(f"{server.base}/connections?connected="))
    sync_api.expect(page.get_by_text(f"Connected {title} (default).")).to_be_visible()


def _shots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("GIGFORGE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_sign_in_connect_upwork_scan_and_dismiss_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server, shots)
        sync_api.expect(page.get_by_text("No opportunities yet.")).to_be_visible()

        page.get_by_role("link", name="Connections").click()
        _connect_oauth(page, server, "Upwork", "upwork")

        _scan(server, "upwork")
        page.goto(f"{server.base}/opportunities")
        rows = page.locator("li.opportunity")
        sync_api.expect(rows.first).to_be_visible()
        assert rows.count() > 1
        sync_api.expect(page.get_by_text("Why this score").first).to_be_visible()
        page.screenshot(path=str(shots / "opportunities.png"), full_page=False)
        _assert_accessible(page)

        first_title = rows.first.locator("h2").inner_text()
        rows.first.get_by_role("button", name="Dismiss").click()
        sync_api.expect(page.get_by_role("status").first).to_contain_text("Dismissed")
        page.reload()
        sync_api.expect(page.locator("li.opportunity").first).to_be_visible()
        assert first_title not in page.locator("#results").inner_text()

        page.get_by_label("Words").fill("zzzz-nothing-matches")
        page.get_by_role("button", name="Apply filters").click()
        sync_api.expect(page.get_by_text("No opportunities match these filters.")).to_be_visible()
        assert "q=zzzz-nothing-matches" in page.url

        page.goto(f"{server.base}/connections")
        sync_api.expect(page.locator(".connection-integration", has_text="Upwork")).to_be_visible()
        page.screenshot(path=str(shots / "connections.png"), full_page=False)
        _assert_accessible(page)

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{server.base}/login")
    assert errors == []


def test_open_an_opportunity_draft_edit_approve_and_see_it_submitted_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.goto(f"{server.base}/connections")
        openai = page.locator("#integration-openai")
        openai.get_by_text("Connect OpenAI").click()
        openai.get_by_label("API key").fill(SANDBOX_API_KEY)
        openai.get_by_role("button", name="Connect", exact=True).click()
        sync_api.expect(page.locator(".connection-integration", has_text="OpenAI")).to_be_visible()
        _connect_oauth(page, server, "Freelancer.com", "freelancer")
        _scan(server, "freelancer")

        page.goto(f"{server.base}/opportunities")
        first = page.locator("li.opportunity").first
        title = first.locator("h2").inner_text()
        first.get_by_role("link", name=title).click()
        sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(title)
        sync_api.expect(page.get_by_text("None yet.")).to_be_visible()
        page.screenshot(path=str(shots / "opportunity.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("button", name="Draft a proposal").click()
        sync_api.expect(page.get_by_text("Waiting for your approval").first).to_be_visible()
        sync_api.expect(page.get_by_text("Version 1: Drafted by openai:")).to_be_visible()
        page.get_by_label("Proposal text").fill(
            "Hello! I have built three booking backends like this one. "
            "First step: a 20-minute call to agree the data model."
        )
        page.get_by_label("Bid amount").fill("420")
        page.get_by_label("Delivery in days").fill("12")
        page.get_by_role("button", name="Save as a new version").click()
        sync_api.expect(page.get_by_text("Version 2: Edited by you")).to_be_visible()
        page.screenshot(path=str(shots / "proposal-editor.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("button", name="Approve and send").click()
        # A worker may send it before the page shows the approved state: either is right here.
        sync_api.expect(
            page.get_by_text(re.compile("Approved, going out|Submitted on")).first
        ).to_be_visible(timeout=15_000)
        # The page polls and reloads by itself. The same run checks the sandbox client's
        # awards, which may have chosen the bid already: submitted, or won.
        _gigforge(server, "worker", "--once")
        sync_api.expect(page.locator(".state .badge")).to_have_text(
            re.compile("Submitted|Won"), timeout=15_000
        )
        sync_api.expect(page.get_by_text("reference")).to_be_visible()
        page.screenshot(path=str(shots / "proposal-submitted.png"), full_page=True)
        _assert_accessible(page)

        page.goto(f"{server.base}/opportunities")
        page.locator("li.opportunity").nth(1).locator("h2 a").click()
        page.get_by_role("button", name="Draft a proposal").click()
        sync_api.expect(page.get_by_text("Waiting for your approval").first).to_be_visible()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Proposals").click()
        sync_api.expect(
            page.get_by_role("heading", name=re.compile(r"^(Sent|Won) \(1\)$"))
        ).to_be_visible()
        sync_api.expect(
            page.get_by_role("heading", name="Waiting for your approval")
        ).to_be_visible()
        page.screenshot(path=str(shots / "proposals.png"), full_page=True)
        _assert_accessible(page)

        # A phone's width: one column, nothing wider than the screen.
        page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/proposals", page.locator("td a").first.get_attribute("href")):
            page.goto(f"{server.base}{path}")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            _assert_accessible(page)
    assert errors == []


LONG_NAME = "Himalayas remote jobs for the autumn season, with a name far too long to fit in a row"


def _fits_the_screen(page: Any) -> None:
    """Nothing wider than the screen; the assertion names what sticks out."""
    wider = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5)
            .map((e) => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wider


def test_connections_actions_scan_now_undo_and_usage_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.goto(f"{server.base}/connections")
        openai = page.locator("#integration-openai")
        openai.get_by_text("Connect OpenAI").click()
        openai.get_by_label("API key").fill(SANDBOX_API_KEY)
        openai.get_by_role("button", name="Connect", exact=True).click()
        himalayas = page.locator("#integration-himalayas")
        himalayas.get_by_text("Connect Himalayas").click()
        himalayas.get_by_label("Connection name").fill(LONG_NAME)
        himalayas.get_by_role("button", name="Connect", exact=True).click()
        sync_api.expect(
            page.locator(".connection-integration", has_text="Himalayas")
        ).to_be_visible()

        page.get_by_role("button", name="Test OpenAI default").click()
        sync_api.expect(page.get_by_text("OpenAI accepted the connection.")).to_be_visible()
        sync_api.expect(page.locator(".connection-checked time").first).to_be_visible()
        page.screenshot(path=str(shots / "connections.png"), full_page=False)
        _assert_accessible(page)
        page.set_viewport_size({"width": 390, "height": 844})
        _fits_the_screen(page)
        _assert_accessible(page)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.goto(f"{server.base}/opportunities")
        page.get_by_role("button", name="Scan now").click()
        sync_api.expect(page.get_by_text("Scan finished")).to_be_visible(timeout=30_000)
        rows = page.locator("li.opportunity")
        sync_api.expect(rows.first).to_be_visible()
        count = page.locator("#opportunity-count")
        before = int(count.inner_text().split()[0].replace(",", ""))
        title = rows.first.locator("h2").inner_text()
        rows.first.get_by_role("button", name="Dismiss").click()
        sync_api.expect(count).to_contain_text(f"{before - 1:,} opportunit")
        page.get_by_role("button", name=f"Undo dismissing {title}").click()
        sync_api.expect(count).to_contain_text(f"{before:,} opportunit")
        sync_api.expect(page.locator("li.opportunity h2", has_text=title)).to_be_visible()
        page.screenshot(path=str(shots / "opportunities.png"), full_page=False)
        _assert_accessible(page)

        rows.first.locator("h2 a").click()
        page.get_by_role("button", name="Draft a proposal").click()
        sync_api.expect(page.get_by_text("Waiting for your approval").first).to_be_visible()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage").click()
        sync_api.expect(page.get_by_role("heading", name="Calls per connection")).to_be_visible()
        sync_api.expect(page.locator(".usage-model").first).to_be_visible()
        page.screenshot(path=str(shots / "usage.png"), full_page=True)
        _assert_accessible(page)
        page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/usage", "/connections"):
            page.goto(f"{server.base}{path}")
            _fits_the_screen(page)
            _assert_accessible(page)
    assert errors == []
