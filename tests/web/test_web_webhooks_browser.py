"""Settings > Webhooks in headless Chromium against a real `gigforge serve` with its embedded
worker: add an endpoint (its secret shown once), send a test message to a receiver on a
loopback port and see the attempt in the log, rotate the secret, edit the event filter, resend,
recover. Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh the documentation's picture."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from test_web_browser import (
    EMAIL,
    PASSWORD,
    _assert_accessible,
    _browser_page,
    _shots,
    sync_api,
)

from serving import Server, serving

RECEIVED: list[tuple[dict[str, str], bytes]] = []


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        RECEIVED.append(({k.lower(): v for k, v in self.headers.items()}, body))
        reply = b"thanks, got it"
        self.send_response(200)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[int]:
    RECEIVED.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


@pytest.fixture
def server(tmp_path: Path, receiver: int) -> Iterator[Server]:
    with serving(tmp_path, ALLOWED_PRIVATE_HOSTS=f'["127.0.0.1:{receiver}"]') as served:
        yield served


def test_add_an_endpoint_send_a_test_rotate_and_read_the_attempt_log_in_chromium(
    server: Server, receiver: int, tmp_path: Path
) -> None:
    import httpx

    registered = httpx.post(
        f"{server.base}/api/v1/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "full_name": "Ada Lovelace"},
    )
    assert registered.status_code == 201, registered.text
    shots = _shots(tmp_path)
    errors: list[str] = []
    url = f"http://127.0.0.1:{receiver}/hooks/gigforge"
    with _browser_page(errors) as page:
        page.goto(f"{server.base}/settings/webhooks")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{server.base}/settings/webhooks")
        sync_api.expect(page.get_by_text("No webhook endpoints yet.")).to_be_visible()
        _assert_accessible(page)

        # A private address is refused at once, with the reason on the form.
        page.get_by_label("URL").fill("http://10.0.0.5/hooks")
        page.get_by_role("button", name="Add endpoint").click()
        sync_api.expect(page.get_by_role("alert")).to_contain_text("not allowed")
        errors[:] = [error for error in errors if "422" not in error]

        page.get_by_label("URL").fill(url)
        page.get_by_label("Description").fill("CRM sync")
        page.get_by_label("Event types").fill("proposal.*, webhook.test")
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.get_by_label(f"Signing secret for {url}").input_value()
        assert secret.startswith("whsec_")
        _assert_accessible(page)

        page.get_by_role("link", name="Open the endpoint").click()
        endpoint_page = page.url
        page.get_by_role("button", name="Send a test message").click()
        sync_api.expect(page.get_by_text("Test message queued")).to_be_visible()
        for _ in range(100):
            if page.get_by_text("✓ 200").count():
                break
            page.wait_for_timeout(200)
            page.reload()
        sync_api.expect(page.get_by_text("✓ 200")).to_be_visible()
        sync_api.expect(page.get_by_text("thanks, got it")).to_be_visible()
        headers, body = RECEIVED[-1]
        assert Webhook(secret).verify(body, headers)["type"] == "webhook.test"

        page.get_by_role("button", name="Rotate secret").click()
        rotated = page.get_by_role("textbox", name="Signing secret").input_value()
        assert rotated.startswith("whsec_")
        assert rotated != secret
        page.get_by_role("button", name="Send a test message").click()
        for _ in range(100):
            if len(RECEIVED) >= 2:
                break
            page.wait_for_timeout(100)
        headers, body = RECEIVED[-1]
        assert len(headers["webhook-signature"].split(" ")) == 2  # both secrets sign
        Webhook(secret).verify(body, headers)
        Webhook(rotated).verify(body, headers)

        page.goto(endpoint_page)
        page.get_by_role("button", name=f"Resend {headers['webhook-id']}").first.click()
        sync_api.expect(page.get_by_text("Queued again")).to_be_visible()
        page.get_by_label("Event types").fill("proposal.submitted")
        page.get_by_role("button", name="Save").click()
        sync_api.expect(page.get_by_text("Endpoint saved.")).to_be_visible()
        sync_api.expect(page.get_by_label("Event types")).to_have_value("proposal.submitted")
        page.get_by_label("Send again every message that failed since (UTC)").fill(
            "2026-01-01T00:00"
        )
        page.get_by_role("button", name="Recover").click()
        sync_api.expect(page.get_by_text("Nothing failed since then")).to_be_visible()
        page.goto(endpoint_page)
        page.screenshot(path=str(shots / "webhooks.png"), full_page=True)
        _assert_accessible(page)
    assert errors == []
