"""`gigforge webhooks`: add, list, test (sent at once), attempts, rotate, resend, recover."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from typer.testing import CliRunner

from factories import cli_environment, cli_user_ada
from gigforge.cli import app

runner = CliRunner()
RECEIVED: list[tuple[dict[str, str], bytes]] = []


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        RECEIVED.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver_port() -> Iterator[int]:
    RECEIVED.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield int(httpd.server_address[1])
    httpd.shutdown()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, receiver_port: int) -> int:
    cli_environment(monkeypatch, tmp_path, allowed_private_hosts=f'["127.0.0.1:{receiver_port}"]')
    cli_user_ada()
    return receiver_port


def test_add_test_attempts_rotate_resend_and_recover(cli_env: int) -> None:
    url = f"http://127.0.0.1:{cli_env}/hooks"
    added = runner.invoke(app, ["webhooks", "add", url, "--event", "proposal.*", "--json"])
    assert added.exit_code == 0, added.output
    endpoint = json.loads(added.output)
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["event_types"] == ["proposal.*"]

    listed = runner.invoke(app, ["webhooks", "list", "--json"])
    assert listed.exit_code == 0
    assert [item["id"] for item in json.loads(listed.output)] == [endpoint["id"]]
    assert endpoint["secret"] not in listed.output

    tested = runner.invoke(app, ["webhooks", "test", endpoint["id"], "--json"])
    assert tested.exit_code == 0, tested.output
    [attempt] = json.loads(tested.output)
    assert attempt["succeeded"] is True
    assert attempt["status_code"] == 204
    headers, body = RECEIVED[-1]
    assert Webhook(endpoint["secret"]).verify(body, headers)["type"] == "webhook.test"

    rotated = runner.invoke(app, ["webhooks", "rotate", endpoint["id"]])
    assert rotated.exit_code == 0
    assert "whsec_" in rotated.output

    attempts = runner.invoke(app, ["webhooks", "attempts", endpoint["id"], "--json"])
    assert attempts.exit_code == 0
    assert json.loads(attempts.output)[0]["msg_id"] == headers["webhook-id"]

    resent = runner.invoke(app, ["webhooks", "resend", attempt["event_id"]])
    assert resent.exit_code == 0, resent.output
    assert "Queued again for 1 endpoint(s)." in resent.output

    recovered = runner.invoke(
        app, ["webhooks", "recover", endpoint["id"], "--since", "2026-01-01T00:00:00"]
    )
    assert recovered.exit_code == 0
    assert "Queued again: 0 failed message(s)." in recovered.output


def test_errors_are_one_line(cli_env: int) -> None:
    refused = runner.invoke(app, ["webhooks", "add", "http://10.0.0.1/hooks"])
    assert refused.exit_code == 1
    assert "not allowed" in refused.output
    missing = runner.invoke(app, ["webhooks", "rotate", "0193a1b2-4c5d-7e6f-8a9b-0c1d2e3f4a5b"])
    assert missing.exit_code == 1
    assert "No such webhook endpoint" in missing.output
    bad = runner.invoke(app, ["webhooks", "test", "not-an-id"])
    assert bad.exit_code == 1
    assert "not an endpoint id" in bad.output
