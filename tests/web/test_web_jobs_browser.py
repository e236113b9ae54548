"""A job driven through its page in headless Chromium against `gigforge serve --sandbox` with
the embedded worker: a hand-off proposal marked won, accepted, worked by the agents through
the sandbox LLM (the page follows them by itself), approved and delivered, then the board and
the agents page, each checked by axe. Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh
docs/screenshots/jobs.png, job-review.png, job-delivered.png and agents.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_web_browser import (
    Server,
    _assert_accessible,
    _browser_page,
    _connect_oauth,
    _register,
    _scan,
    _shots,
    _sign_in,
    sync_api,
)

from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from serving import serving

# The agents and their judges run in the served process; allow for a slow CI machine.
WORK_TIMEOUT_MS = 60_000
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def working_server(tmp_path: Path) -> Iterator[Server]:
    """The real server in sandbox mode with its embedded worker, so tasks run by themselves."""
    with serving(tmp_path, "--sandbox", EMBEDDED_WORKER="true") as served:
        yield served


def test_a_job_page_through_accept_review_approve_and_deliver_in_chromium(
    working_server: Server, tmp_path: Path
) -> None:
    server = working_server
    shots = _shots(tmp_path)
    _register(server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        _sign_in(page, server)
        page.goto(f"{server.base}/jobs")
        sync_api.expect(page.get_by_text("No jobs yet.")).to_be_visible()

        page.goto(f"{server.base}/connections")
        openai = page.locator("#integration-openai")
        openai.get_by_text("Connect OpenAI").click()
        openai.get_by_label("API key").fill(SANDBOX_API_KEY)
        openai.get_by_role("button", name="Connect", exact=True).click()
        sync_api.expect(page.locator(".connection-integration", has_text="OpenAI")).to_be_visible()
        _connect_oauth(page, server, "Upwork", "upwork")
        _scan(server, "upwork")

        # An Upwork proposal is handed off: the user sends it, then marks it won.
        page.goto(f"{server.base}/opportunities?platform=upwork")
        page.locator("li.opportunity").first.locator("h2 a").click()
        page.get_by_role("button", name="Draft a proposal").click()
        sync_api.expect(page.get_by_text("Waiting for your approval").first).to_be_visible()
        page.get_by_role("button", name="Approve and send").click()
        sync_api.expect(page.locator(".state .badge")).to_have_text(
            "Ready for you to send", timeout=WORK_TIMEOUT_MS
        )
        page.get_by_role("button", name="I have sent it").click()
        sync_api.expect(page.locator(".state .badge")).to_have_text("Submitted")
        _assert_accessible(page)
        page.get_by_role("button", name="Mark won").click()
        page.wait_for_url(lambda url: url.startswith(f"{server.base}/jobs/"))
        sync_api.expect(page.get_by_text("Waiting for you to accept")).to_be_visible()
        _assert_accessible(page)

        # Accepted, the agents work; the page follows their tasks without a reload by hand.
        page.get_by_role("button", name="Accept and start").click()
        sync_api.expect(page.locator(".state .badge").first).to_have_text(
            "Ready for your review", timeout=WORK_TIMEOUT_MS
        )
        task = page.locator("li.task").first
        sync_api.expect(task.get_by_text("/5").first).to_be_visible()
        sync_api.expect(page.get_by_role("heading", name="Checks")).to_be_visible()
        sync_api.expect(page.locator("pre.preview").first).to_be_visible()
        sync_api.expect(page.get_by_role("button", name="Deliver to the client")).to_have_count(0)
        page.screenshot(path=str(shots / "job-review.png"), full_page=True)
        _assert_accessible(page)

        # The agents page while the job is in review: the writer has a score, and a task can
        # be given to any agent on the job.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents").click()
        sync_api.expect(page.get_by_text("Available").first).to_be_visible()
        sync_api.expect(page.locator(".agent", has_text="/5").first).to_be_visible()
        page.locator(".agent").first.get_by_text("Assign a task").click()
        sync_api.expect(page.locator(".agent").first.get_by_label("What to do")).to_be_visible()
        page.screenshot(path=str(shots / "agents.png"), full_page=True)
        _assert_accessible(page)
        page.go_back()

        page.get_by_role("button", name="Approve the work").click()
        sync_api.expect(page.get_by_text("You approved this work.")).to_be_visible()
        page.get_by_role("button", name="Deliver to the client").click()
        sync_api.expect(page.locator(".state .badge").first).to_have_text(
            "Delivered", timeout=WORK_TIMEOUT_MS
        )
        message = page.locator("pre.delivery-message")
        sync_api.expect(message).to_contain_text("GF-")
        sync_api.expect(page.get_by_role("link", name="Download the package")).to_be_visible()
        page.get_by_role("button", name="Copy the message").click()
        sync_api.expect(page.get_by_text("Copied.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == message.inner_text()
        page.screenshot(path=str(shots / "job-delivered.png"), full_page=True)
        _assert_accessible(page)
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _assert_accessible(page)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Jobs").click()
        sync_api.expect(page.get_by_role("link", name="Delivered (1)")).to_be_visible()
        sync_api.expect(page.locator("tbody tr")).to_have_count(1)
        page.screenshot(path=str(shots / "jobs.png"), full_page=True)
        _assert_accessible(page)

    assert errors == []
