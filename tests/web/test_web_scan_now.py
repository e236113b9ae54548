"""Scan now on the backbone: runs and their progress are rows, scans are tasks any process runs.

Several app instances on one database stand for several processes: the one the button was
pressed in, a worker that runs the scan tasks, and another API process (or the same one after
a restart) that answers the page's polls.
"""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from factories import Account, AppFactory, register
from gigforge.app import create_app
from gigforge.connections.context import IntegrationContext
from gigforge.integrations.remoteok.sandbox import create_sandbox
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow, TaskState
from gigforge.opportunities.models import ScanRun, ScanRunSource, SourceSchedule
from gigforge.opportunities.scan_now import STALE_AFTER, STALLED, RunProgress
from gigforge.opportunities.scanning import Scanner, ScanReport
from gigforge.opportunities.scheduler import SCAN_TASK
from test_worker_crash import _served
from web_support import csrf_of, sign_in
from workers import start_worker, wait_for

HTMX = {"HX-Request": "true"}
STATUS = "/opportunities/scan/status?polling=1"


async def _no_wait(delay: float) -> None:
    return None


@asynccontextmanager
async def _instance(app: FastAPI) -> AsyncIterator[FastAPI]:
    """Another process of the same deployment: same settings, same database, own memory."""
    other = create_app(app.state.settings)
    other.state.integrations.runtime.sleep = _no_wait
    try:
        yield other
    finally:
        await other.state.quota_notices.drain()
        await other.state.router.close()
        await other.state.database.dispose()


@asynccontextmanager
async def _browser(app: FastAPI, web: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """The same signed-in browser, its requests answered by `app`."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=web.cookies
    ) as client:
        yield client


async def _signed_in_with_sources(
    app: FastAPI, web: httpx.AsyncClient, *slugs: str
) -> tuple[Account, dict[str, uuid.UUID]]:
    account = await register(web)
    await sign_in(web, account)
    sources = {}
    for slug in slugs:
        created = await web.post(
            "/api/v1/connections", json={"integration": slug}, headers=account.headers
        )
        assert created.status_code == 201, created.text
        sources[slug] = uuid.UUID(created.json()["id"])
    return account, sources


async def _press(web: httpx.AsyncClient) -> httpx.Response:
    board = await web.get("/opportunities")
    pressed = await web.post(
        "/opportunities/scan", headers={**HTMX, "X-CSRF-Token": csrf_of(board.text)}
    )
    assert pressed.status_code == 200, pressed.text
    return pressed


def _text(response: httpx.Response) -> str:
    return " ".join(response.text.split())


async def _runs_and_scan_tasks(app: FastAPI) -> tuple[list[ScanRun], int]:
    async with unit_of_work(app.state.database) as session:
        runs = list((await session.execute(select(ScanRun))).scalars().all())
        tasks = await session.scalar(
            select(func.count()).select_from(TaskRow).where(TaskRow.name == SCAN_TASK)
        )
    return runs, int(tasks or 0)


async def test_progress_written_by_a_worker_shows_on_another_app_instance(
    sandbox_app: FastAPI, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _signed_in_with_sources(sandbox_app, web, "himalayas", "remoteok")
    await _press(web)
    seen_meanwhile: list[str] = []

    async with (
        _instance(sandbox_app) as worker,
        _instance(sandbox_app) as other,
        _browser(other, web) as elsewhere,
    ):
        waiting = _text(await elsewhere.get(STATUS, headers=HTMX))
        advance = RunProgress.advance

        async def observed(self: RunProgress, seen: int) -> None:
            await advance(self, seen)
            seen_meanwhile.append(_text(await elsewhere.get(STATUS, headers=HTMX)))

        monkeypatch.setattr(RunProgress, "advance", observed)
        # The worker's sandboxes are its own: Remote OK fails there.
        faults = worker.state.sandboxes["remoteok"].faults
        faults.error_status, faults.error_rate = 403, 1.0
        ran = await worker.state.tasks.run_due()
        finished = await elsewhere.get(STATUS, headers=HTMX)

    assert "Himalayas (default)</span>: waiting" in waiting
    assert "Remote OK (default)</span>: waiting" in waiting
    assert 'hx-trigger="every 1s"' in waiting
    assert ran == 2
    assert any(
        re.search(r"Himalayas \(default\)</span>: scanning, [\d,]+ read so far", page)
        for page in seen_meanwhile
    ), seen_meanwhile
    assert finished.headers["HX-Trigger"] == "scan-finished"
    text = _text(finished)
    found = re.search(r"Himalayas \(default\)</span>: ([\d,]+) found, ([\d,]+) new", text)
    assert found is not None, text
    assert int(found.group(2).replace(",", "")) > 0
    assert re.search(r"Remote OK \(default\)</span>: <strong>failed</strong>: \S", text)
    assert "1 source failed" in text
    assert "Scan finished at" in text
    # The instance the button was pressed in shows the same.
    assert _text(await web.get(STATUS, headers=HTMX)) == text


async def test_pressing_twice_scans_once_and_a_new_run_replaces_the_last(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    sandbox_app.state.integrations.runtime.sleep = _no_wait
    _, sources = await _signed_in_with_sources(sandbox_app, web, "himalayas", "remoteok")

    first = await _press(web)
    async with _instance(sandbox_app) as other, _browser(other, web) as elsewhere:
        again = await _press(elsewhere)
    runs, tasks = await _runs_and_scan_tasks(sandbox_app)

    assert _text(again) == _text(first)
    assert len(runs) == 1
    assert tasks == len(sources)
    assert await sandbox_app.state.tasks.run_due() == len(sources)

    await _press(web)
    replaced, tasks_after = await _runs_and_scan_tasks(sandbox_app)
    assert len(replaced) == 1
    assert replaced[0].id != runs[0].id
    assert tasks_after == 2 * len(sources)
    async with unit_of_work(sandbox_app.state.database) as session:
        rows = (await session.execute(select(ScanRunSource.run_id))).scalars().all()
    assert set(rows) == {replaced[0].id}


async def test_a_crashing_source_is_reported_by_name_and_given_back_while_the_other_finishes(
    sandbox_app: FastAPI, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_app.state.integrations.runtime.sleep = _no_wait
    _, sources = await _signed_in_with_sources(sandbox_app, web, "himalayas", "remoteok")
    scan = Scanner.scan

    async def crashing(
        self: Scanner,
        connection_id: uuid.UUID,
        *,
        progress: Callable[[int], Awaitable[None] | None] | None = None,
    ) -> ScanReport:
        if connection_id == sources["remoteok"]:
            raise RuntimeError("a bug, with details for the log only")
        return await scan(self, connection_id, progress=progress)

    monkeypatch.setattr(Scanner, "scan", crashing)
    await _press(web)
    await sandbox_app.state.tasks.run_due()
    text = _text(await web.get(STATUS, headers=HTMX))

    assert re.search(r"Himalayas \(default\)</span>: [\d,]+ found, [\d,]+ new", text), text
    assert (
        "Remote OK (default)</span>: <strong>failed</strong>: The scan stopped on an "
        "unexpected error" in text
    )
    assert "a bug" not in text
    async with unit_of_work(sandbox_app.state.database) as session:
        crashed = await session.get(SourceSchedule, sources["remoteok"])
        task_states = set(
            (
                await session.execute(select(TaskRow.state).where(TaskRow.name == SCAN_TASK))
            ).scalars()
        )
    assert crashed is not None
    assert crashed.claimed_until is None
    assert task_states == {TaskState.done}


async def test_the_run_survives_a_restart_of_the_web_app(
    sandbox_app: FastAPI, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    context: IntegrationContext = sandbox_app.state.integrations
    context.runtime.sleep = _no_wait
    await _signed_in_with_sources(sandbox_app, web, "himalayas")
    await _press(web)
    advance = RunProgress.advance

    async def dies(self: RunProgress, seen: int) -> None:
        await advance(self, seen)
        raise asyncio.CancelledError  # the process stops mid-scan

    # The web process starts the scan (embedded worker), then is stopped in the middle of it.
    monkeypatch.setattr(RunProgress, "advance", dies)
    with pytest.raises(asyncio.CancelledError):
        await sandbox_app.state.tasks.run_due()
    monkeypatch.setattr(RunProgress, "advance", advance)
    await sandbox_app.state.database.dispose()
    async with unit_of_work(context.database) as session:
        # The dead process's claim on the task runs out (as its lease would).
        await session.execute(
            update(TaskRow)
            .where(TaskRow.name == SCAN_TASK)
            .values(claimed_until=utcnow() - timedelta(seconds=1))
        )

    async with _instance(sandbox_app) as restarted, _browser(restarted, web) as browser:
        during = _text(await browser.get(STATUS, headers=HTMX))
        async with _instance(sandbox_app) as worker:
            assert await worker.state.tasks.run_due() == 1
        finished = await browser.get(STATUS, headers=HTMX)
        board = await browser.get("/opportunities")

    assert re.search(r"Himalayas \(default\)</span>: scanning, [\d,]+ read so far", during)
    assert finished.headers["HX-Trigger"] == "scan-finished"
    text = _text(finished)
    assert re.search(r"Himalayas \(default\)</span>: [\d,]+ found, [\d,]+ new", text), text
    assert "Scan finished at" in _text(board)


async def test_two_presses_at_once_in_two_processes_start_one_run(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, sources = await _signed_in_with_sources(sandbox_app, web, "himalayas", "remoteok")

    async with _instance(sandbox_app) as other, _browser(other, web) as elsewhere:
        board = await web.get("/opportunities")
        headers = {**HTMX, "X-CSRF-Token": csrf_of(board.text)}
        pressed = await asyncio.gather(
            web.post("/opportunities/scan", headers=headers),
            elsewhere.post("/opportunities/scan", headers=headers),
        )
    runs, tasks = await _runs_and_scan_tasks(sandbox_app)

    assert [response.status_code for response in pressed] == [200, 200]
    assert _text(pressed[0]) == _text(pressed[1])
    assert len(runs) == 1
    assert tasks == len(sources)


async def test_a_real_worker_process_runs_the_scan_and_the_page_shows_its_progress(
    app_factory: AppFactory,
) -> None:
    """`gigforge worker` in a process of its own (no web application) runs the scan the
    button enqueued; the web app, which runs no tasks, shows the result from the database."""
    sandbox = create_sandbox()
    with _served(sandbox.app) as port:
        app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{port}"])
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            account = await register(web)
            await sign_in(web, account)
            created = await web.post(
                "/api/v1/connections",
                json={"integration": "remoteok", "base_url": f"http://127.0.0.1:{port}"},
                headers=account.headers,
            )
            assert created.status_code == 201, created.text
            pressed = _text(await _press(web))
            worker = start_worker(app, broker_url=None, allowed_ports=[port], lease_seconds=3)
            try:
                latest: list[httpx.Response] = []

                async def finished() -> bool:
                    latest[:] = [await web.get(STATUS, headers=HTMX)]
                    return "Scan finished at" in latest[0].text

                await wait_for(finished, "the worker to finish the scan", within=90)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(30)

    assert "Remote OK (default)</span>: waiting" in pressed
    text = _text(latest[0])
    assert latest[0].headers["HX-Trigger"] == "scan-finished"
    assert f"Remote OK (default)</span>: {len(sandbox.jobs)} found, {len(sandbox.jobs)} new" in (
        text
    ), text


async def test_a_source_whose_task_went_silent_ends_the_run_as_failed(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    """A worker that vanished for good leaves its source waiting; once the source's lease is
    over it is shown as failed, the run ends, and the button starts a new run."""
    await _signed_in_with_sources(sandbox_app, web, "himalayas")
    first = await _press(web)
    async with unit_of_work(sandbox_app.state.database) as session:
        # The hour passes: the source's row and its schedule's claim both grow old.
        past = utcnow() - STALE_AFTER - timedelta(minutes=1)
        await session.execute(update(ScanRunSource).values(updated_at=past))
        await session.execute(update(SourceSchedule).values(claimed_until=past))

    stalled = await web.get(STATUS, headers=HTMX)
    again = await _press(web)
    runs, tasks = await _runs_and_scan_tasks(sandbox_app)

    assert "Himalayas (default)</span>: waiting" in _text(first)
    assert stalled.headers["HX-Trigger"] == "scan-finished"
    assert "Himalayas (default)</span>: <strong>failed</strong>: " + STALLED in _text(stalled)
    assert "1 source failed" in _text(stalled)
    assert len(runs) == 1
    assert tasks == 2
    assert 'hx-trigger="every 1s"' in again.text
