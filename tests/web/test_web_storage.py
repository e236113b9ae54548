"""/settings/storage over HTTP: the configured backend and its round-trip test, for admins."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from factories import register
from web_support import csrf_of, sign_in


async def test_the_admin_sees_the_backend_and_a_passing_test(
    web: httpx.AsyncClient, sandbox_app: FastAPI
) -> None:
    admin = await register(web)
    await sign_in(web, admin)
    assert 'href="/settings/storage"' in (await web.get("/settings")).text
    page = await web.get("/settings/storage")
    assert page.status_code == 200, page.text
    assert "A folder on this server" in page.text
    assert sandbox_app.state.storage.description.location in page.text
    assert "Test storage" in page.text

    tested = await web.post("/settings/storage/test", data={"csrf_token": csrf_of(page.text)})
    assert tested.status_code == 200
    assert "Storage works: every step passed." in tested.text
    for step in ("Write an object", "Read it back", "Download it through a signed link"):
        assert step in tested.text
    assert "Failed" not in tested.text
    root = Path(sandbox_app.state.storage.description.location)
    assert not any((root / "system" / "checks").glob("*.txt"))  # the test object is gone


async def test_a_failing_backend_is_reported_step_by_step(
    web: httpx.AsyncClient, sandbox_app: FastAPI
) -> None:
    admin = await register(web)
    await sign_in(web, admin)
    root = Path(sandbox_app.state.storage.description.location)
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("a file where the storage folder should be")  # noqa: ASYNC240
    page = await web.get("/settings/storage")
    tested = await web.post("/settings/storage/test", data={"csrf_token": csrf_of(page.text)})
    assert tested.status_code == 200
    assert "Storage failed its test." in tested.text
    assert "Reach the backend" in tested.text
    assert "Write an object" not in tested.text


async def test_members_can_not_see_or_test_storage(web: httpx.AsyncClient) -> None:
    await register(web)  # the first account is the admin
    member = await register(web)
    await sign_in(web, member)
    assert 'href="/settings/storage"' not in (await web.get("/settings")).text
    refused = await web.get("/settings/storage")
    assert refused.status_code == 403
    assert "see the file storage settings" in refused.text
    csrf = csrf_of((await web.get("/settings/profile")).text)
    posted = await web.post("/settings/storage/test", data={"csrf_token": csrf})
    assert posted.status_code == 403
    forged = await web.post("/settings/storage/test", data={"csrf_token": "forged"})
    assert forged.status_code == 403
