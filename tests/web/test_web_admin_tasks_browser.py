"""/admin/tasks in headless Chromium against `gigforge serve --sandbox`, checked by axe at
desktop width and at a phone's 390 px. Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh
docs/screenshots/admin-tasks.png."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

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

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.ids import uuid7
from gigforge.kit.tasks import TaskRow, TaskState

__all__ = ["server"]  # the fixture, used by name


def _write_dead_tasks(data_dir: Path) -> None:
    """Rows as the engine leaves them after the last attempt (the served process runs none)."""

    async def main() -> None:
        database = Database.from_url(f"sqlite+aiosqlite:///{data_dir / 'gigforge.db'}")
        now = utcnow()
        try:
            async with unit_of_work(database) as session:
                session.add_all(
                    [
                        TaskRow(
                            id=uuid7(),
                            name="webhooks.deliver",
                            args={"delivery_id": "0193a1c2-delivery", "endpoint": "crm"},
                            state=TaskState.dead,
                            attempts=8,
                            max_attempts=8,
                            due_at=now - timedelta(hours=3),
                            last_error="Transient: https://hooks.example.com/gigforge answered "
                            "503 Service Unavailable (8 attempts over 2 hours)",
                            created_at=now - timedelta(hours=5),
                            finished_at=now - timedelta(hours=2),
                        ),
                        TaskRow(
                            id=uuid7(),
                            name="proposals.submit",
                            args={"proposal_id": "0193a1c2-proposal"},
                            state=TaskState.dead,
                            attempts=5,
                            max_attempts=5,
                            due_at=now - timedelta(minutes=30),
                            last_error="Permanent: Upwork refused the bid: the job is closed",
                            created_at=now - timedelta(hours=1),
                            finished_at=now - timedelta(minutes=20),
                        ),
                    ]
                )
        finally:
            await database.dispose()

    asyncio.run(main())


def test_an_admin_reads_dead_tasks_then_discards_one_and_retries_the_other_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    _write_dead_tasks(Path(server.env["GIGFORGE_DATA_DIR"]))
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        page.get_by_role("link", name="Background tasks").click()
        sync_api.expect(page.get_by_role("heading", name="Dead tasks")).to_be_visible()
        sync_api.expect(page.get_by_text("the job is closed")).to_be_visible()
        sync_api.expect(page.get_by_text("503 Service Unavailable")).to_be_visible()
        page.screenshot(path=str(shots / "admin-tasks.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("button", name="Discard webhooks.deliver").click()
        sync_api.expect(page.get_by_text("The task was discarded.")).to_be_visible()
        sync_api.expect(page.get_by_text("503 Service Unavailable")).to_have_count(0)
        _assert_accessible(page)

        page.get_by_role("button", name="Retry proposals.submit").click()
        sync_api.expect(page.get_by_text("The task is queued again")).to_be_visible()
        sync_api.expect(page.get_by_text("No dead tasks")).to_be_visible()
        _assert_accessible(page)

        page.get_by_role("link", name="Discarded").click()
        sync_api.expect(page.get_by_text("503 Service Unavailable")).to_be_visible()
        sync_api.expect(page.get_by_role("button", name="Retry webhooks.deliver")).to_be_visible()

        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _assert_accessible(page)
    assert errors == []
