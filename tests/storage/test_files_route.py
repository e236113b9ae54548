"""GET /files/{token}: the local backend's signed links, served by the app."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI

from gigforge.storage import user_key
from gigforge.storage.local import LocalStorage

OWNER = uuid.UUID("0193a1c2-0000-7000-8000-0000000f11e5")
KEY = user_key(OWNER, "jobs/9/résumé draft.txt")


def _path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_a_signed_link_downloads_the_verified_file(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    storage: LocalStorage = app.state.storage
    first = await storage.put(KEY, b"first draft", content_type="text/plain")
    await storage.put(KEY, b"second draft", content_type="text/plain")
    url = await storage.signed_url(
        KEY, expires_in=timedelta(minutes=5), version=first.version_id, filename="Résumé.txt"
    )
    answer = await client.get(_path_of(url))
    assert answer.status_code == 200
    assert answer.content == b"first draft"
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"R_sum_.txt\"; filename*=UTF-8''R%C3%A9sum%C3%A9.txt"
    )
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"

    latest = await storage.signed_url(KEY, expires_in=timedelta(minutes=5))
    assert (await client.get(_path_of(latest))).content == b"second draft"


async def test_an_expired_link_is_gone(app: FastAPI, client: httpx.AsyncClient) -> None:
    storage: LocalStorage = app.state.storage
    await storage.put(KEY, b"x")
    past = LocalStorage(
        Path(storage.description.location),
        signer=storage.signer,
        public_url="http://testserver",
        clock=lambda: storage._clock() - timedelta(hours=1),
    )
    url = await past.signed_url(KEY, expires_in=timedelta(minutes=5))
    answer = await client.get(_path_of(url))
    assert answer.status_code == 410
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("storage-link-expired")


async def test_a_forged_or_altered_link_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    storage: LocalStorage = app.state.storage
    await storage.put(KEY, b"x")
    url = await storage.signed_url(KEY, expires_in=timedelta(minutes=5))
    payload, mac = _path_of(url).removeprefix("/files/").split(".")
    for token in (f"{payload}.{mac[:-2]}AA", f"{payload[:-2]}AA.{mac}", "nonsense", "a.b"):
        answer = await client.get(f"/files/{token}")
        assert answer.status_code == 403, token
        assert answer.json()["type"].endswith("storage-link-invalid")


async def test_a_corrupted_file_is_never_served(app: FastAPI, client: httpx.AsyncClient) -> None:
    storage: LocalStorage = app.state.storage
    stored = await storage.put(KEY, b"good bytes")
    url = await storage.signed_url(KEY, expires_in=timedelta(minutes=5))
    data = Path(storage.description.location).joinpath(
        *KEY.split("/"), ".v", f"{stored.version_id}.data"
    )
    data.write_bytes(b"evil bytes")
    answer = await client.get(_path_of(url))
    assert answer.status_code == 502
    assert answer.json()["type"].endswith("storage-checksum-mismatch")
    assert b"evil" not in answer.content


async def test_a_browser_gets_an_html_page_for_a_dead_link(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    answer = await client.get("/files/not-a-token", headers={"Accept": "text/html"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "The link is incomplete." in answer.text


async def test_links_are_not_served_when_storage_is_remote(
    app_factory: object, moto: object
) -> None:
    from storage_support import Moto

    assert isinstance(moto, Moto)
    remote = await app_factory(  # type: ignore[operator]
        storage_backend="s3",
        storage_bucket=moto.bucket(),
        storage_endpoint_url=moto.endpoint,
        storage_region="us-east-1",
        storage_access_key_id="AKIDGIGFORGETEST",
        storage_secret_access_key="moto-accepts-any-secret-for-signing",
    )
    transport = httpx.ASGITransport(app=remote)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = await http.get("/files/abc.def")
    assert answer.status_code == 404


async def test_tasks_get_the_same_storage_as_the_app(app: FastAPI) -> None:
    from gigforge.kit.tasks import TaskContext
    from gigforge.storage import Storage

    context = TaskContext(
        database=app.state.database,
        resources=app.state.process.resources,
        task_id=uuid.uuid4(),
        attempt=1,
        lease=timedelta(seconds=60),
    )
    assert context.get(Storage) is app.state.storage
