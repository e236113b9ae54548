"""The dashboard in headless Chromium against `gigforge serve --sandbox` on a loopback port.

Uses Debian's /usr/bin/chromium (never a downloaded browser). Set GIGFORGE_SCREENSHOTS to a
folder (the docs use docs/screenshots) to keep the page screenshots; otherwise they go to the
test's temporary folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base: str
    env: dict[str, str]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """The real server in sandbox mode; the scan worker is off so the test decides when to scan."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GIGFORGE_ENV": "development",
        "GIGFORGE_DATA_DIR": str(tmp_path / "data"),
        "GIGFORGE_CONFIG": str(tmp_path / "absent.toml"),
        "GIGFORGE_PUBLIC_URL": base,
        "GIGFORGE_EMBEDDED_WORKER": "false",
    }
    env.pop("GIGFORGE_DATABASE_URL", None)
    env.pop("GIGFORGE_SANDBOX", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gigforge", "serve", "--sandbox", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("gigforge serve did not become ready")
        yield Server(base, env)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _scan(server: Server) -> None:
    """`gigforge scan` on the same database; without --sandbox it reaches the served sandbox
    over the loopback, the one that issued the connection's tokens."""
    done = subprocess.run(
        [sys.executable, "-m", "gigforge", "scan", "--user", EMAIL, "--source", "upwork"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_sign_in_connect_upwork_scan_and_dismiss_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("GIGFORGE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    registered = httpx.post(
        f"{server.base}/api/v1/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "full_name": "Ada Lovelace"},
    )
    assert registered.status_code == 201, registered.text

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on(
                "response",
                lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            page.goto(f"{server.base}/opportunities")
            assert page.url.startswith(f"{server.base}/login?next=")
            page.get_by_label("Email").fill(EMAIL)
            page.screenshot(path=str(shots / "login.png"), full_page=True)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{server.base}/opportunities")
            sync_api.expect(page.get_by_text("No opportunities yet.")).to_be_visible()

            page.get_by_role("link", name="Connections").click()
            page.get_by_role("button", name="Connect Upwork").click()
            page.wait_for_url(f"{server.base}/api/v1/connections/upwork/callback*")
            assert '"integration":"upwork"' in page.content().replace(" ", "")
            # The API's JSON page makes Chromium ask for /favicon.ico, which only pages set.
            errors.clear()

            _scan(server)
            page.goto(f"{server.base}/opportunities")
            rows = page.locator("li.opportunity")
            sync_api.expect(rows.first).to_be_visible()
            before = rows.count()
            assert before > 1
            sync_api.expect(page.get_by_text("Why this score").first).to_be_visible()
            page.screenshot(path=str(shots / "opportunities.png"), full_page=False)

            first_title = rows.first.locator("h2").inner_text()
            rows.first.get_by_role("button", name="Dismiss").click()
            sync_api.expect(page.get_by_role("status").first).to_contain_text("Dismissed")
            page.reload()
            sync_api.expect(page.locator("li.opportunity").first).to_be_visible()
            assert first_title not in page.locator("#results").inner_text()

            page.get_by_label("Words").fill("zzzz-nothing-matches")
            page.get_by_role("button", name="Apply filters").click()
            sync_api.expect(
                page.get_by_text("No opportunities match these filters.")
            ).to_be_visible()
            assert "q=zzzz-nothing-matches" in page.url

            page.goto(f"{server.base}/connections")
            sync_api.expect(page.get_by_role("cell", name="upwork")).to_be_visible()
            page.screenshot(path=str(shots / "connections.png"), full_page=False)

            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(f"{server.base}/login")
            assert errors == []
        finally:
            browser.close()
