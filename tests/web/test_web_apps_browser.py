"""Third-party apps in headless Chromium against `gigforge serve --sandbox`: register an app
(secret shown once), authorize it on the consent page, land on the app's loopback callback,
and revoke it under Authorized apps; axe checks each page. Set GIGFORGE_SCREENSHOTS=
docs/screenshots to refresh developer-apps.png and oauth-consent.png."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from test_web_browser import (
    Server,
    _assert_accessible,
    _browser_page,
    _register,
    _shots,
    _sign_in,
    server,
    sync_api,
)

__all__ = ["server"]  # the fixture, used by name


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>Invoice Robot</title><p>Back in Invoice Robot.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the URL, not the log."""


@pytest.fixture
def callback() -> Iterator[str]:
    """The app's own redirect target: a loopback page, as a native app would run."""
    httpd = HTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/callback"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_register_an_app_authorize_it_and_revoke_it_in_chromium(
    server: Server, callback: str, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="Developer apps").click()
        sync_api.expect(page.get_by_text("You have not registered any apps.")).to_be_visible()
        page.get_by_label("Name").fill("Invoice Robot")
        page.get_by_label("Redirect URIs").fill(callback)
        page.get_by_label("Read your account").check()
        page.get_by_label("Read opportunities and proposals").check()
        page.get_by_role("button", name="Register app").click()
        sync_api.expect(page.get_by_text("copy the secret now")).to_be_visible()
        client_id = page.get_by_label("Client ID").input_value()
        client_secret = page.get_by_label("Client secret").input_value()
        assert client_id.startswith("gfc_")
        assert client_secret.startswith("gfs_")
        sync_api.expect(page.get_by_role("link", name="Invoice Robot")).to_be_visible()
        page.screenshot(path=str(shots / "developer-apps.png"), full_page=True)
        _assert_accessible(page)

        page.goto(f"{server.base}/settings/developer-apps")  # shown once: not on a later visit
        sync_api.expect(page.get_by_text("copy the secret now")).to_have_count(0)
        assert client_secret not in page.content()

        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": callback,
                "scope": "users:read jobs:read",
                "state": "xyz",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        page.goto(f"{server.base}/oauth/authorize?{query}")
        sync_api.expect(
            page.get_by_role("heading", name="Allow “Invoice Robot” to use your Gigforge account?")
        ).to_be_visible()
        sync_api.expect(page.get_by_text("Read opportunities and proposals")).to_be_visible()
        page.screenshot(path=str(shots / "oauth-consent.png"), full_page=True)
        _assert_accessible(page)
        page.get_by_role("button", name="Allow").click()
        page.wait_for_url(lambda url: url.startswith(callback))
        sync_api.expect(page.get_by_text("Back in Invoice Robot.")).to_be_visible()
        returned = parse_qs(urlsplit(page.url).query)
        assert returned["state"] == ["xyz"]
        token = httpx.post(
            f"{server.base}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": returned["code"][0],
                "redirect_uri": callback,
                "code_verifier": verifier,
            },
            auth=(client_id, client_secret),
        )
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        me = httpx.get(
            f"{server.base}/api/v1/users/me", headers={"Authorization": f"Bearer {access}"}
        )
        assert me.status_code == 200

        page.goto(f"{server.base}/settings/authorized-apps")
        sync_api.expect(page.get_by_role("cell", name="Read your account")).to_be_visible()
        _assert_accessible(page)
        page.get_by_role("button", name="Revoke Invoice Robot").click()
        sync_api.expect(
            page.get_by_text("You have not allowed any apps to use your account.")
        ).to_be_visible()
        gone = httpx.get(
            f"{server.base}/api/v1/users/me", headers={"Authorization": f"Bearer {access}"}
        )
        assert gone.status_code == 401

        page.goto(f"{server.base}/settings/developer-apps")
        page.get_by_role("link", name="Invoice Robot").click()
        page.get_by_label("Redirect URIs").fill(f"{callback}\nhttps://robot.example/callback")
        page.get_by_role("button", name="Save changes").click()
        sync_api.expect(page.get_by_text("Saved.")).to_be_visible()
        _assert_accessible(page)
    assert errors == [], errors
