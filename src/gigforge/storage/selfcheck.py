"""`gigforge storage check` and the dashboard's "Test storage": one small object written,
read back, linked and deleted, each step reported in words."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx

from gigforge.kit.clock import utcnow
from gigforge.kit.errors import GigforgeError
from gigforge.kit.ids import uuid7
from gigforge.storage.base import Storage
from gigforge.storage.keys import system_key

if TYPE_CHECKING:
    from gigforge.storage.local import LocalStorage

LINK_LIFETIME = timedelta(minutes=2)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class CheckReport:
    backend: str
    location: str
    key: str
    steps: list[Step] = field(default_factory=list)
    versioning: str = "unknown"
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)


def _local(storage: Storage) -> LocalStorage | None:
    from gigforge.storage.local import LocalStorage

    return storage if isinstance(storage, LocalStorage) else None


async def _follow_link(storage: Storage, url: str, expected: bytes) -> str:
    local = _local(storage)
    if local is not None:
        token = url.rsplit("/files/", 1)[1]
        claims = local.claims(token)
        _, path = await asyncio.to_thread(local.verified_path, claims.key, claims.version)
        if await asyncio.to_thread(path.read_bytes) != expected:
            raise ValueError("the link leads to other bytes")
        return "the signed /files link verifies and leads to the object"
    async with httpx.AsyncClient(timeout=httpx.Timeout(20, connect=10)) as client:
        answer = await client.get(url)
    if answer.status_code != 200:
        raise ValueError(f"fetching the signed URL answered {answer.status_code}")
    if answer.content != expected:
        raise ValueError("the signed URL returned other bytes")
    return "the signed URL downloads the object"


async def round_trip(storage: Storage) -> CheckReport:
    """Every step of a round trip; a failed step ends it, then the object is removed."""
    key = system_key(f"checks/{uuid7().hex}.txt")
    report = CheckReport(
        backend=storage.description.backend, location=storage.description.location, key=key
    )
    data = f"Gigforge storage check at {utcnow().isoformat()}\n".encode()
    wrote = False

    async def step(name: str, action: Awaitable[str]) -> bool:
        try:
            detail = await action
        except (GigforgeError, ValueError, OSError, httpx.HTTPError) as exc:
            message = exc.detail if isinstance(exc, GigforgeError) else str(exc)
            report.steps.append(Step(name, False, message or type(exc).__name__))
            return False
        report.steps.append(Step(name, True, str(detail)))
        return True

    async def access() -> str:
        found = await storage.check_access()
        report.versioning, report.notes = found.versioning, found.notes
        return f"reachable; versioning {found.versioning}"

    async def put() -> str:
        nonlocal wrote
        stored = await storage.put(key, data, content_type="text/plain")
        wrote = True
        if stored.sha256 != hashlib.sha256(data).hexdigest():
            raise ValueError("the stored SHA-256 is not the one sent")
        version = f", version {stored.version_id}" if stored.version_id else ""
        return f"wrote {stored.size} bytes{version}"

    async def get() -> str:
        if await storage.get(key) != data:
            raise ValueError("read back other bytes")
        return "read back the same bytes; SHA-256 verified"

    async def link() -> str:
        url = await storage.signed_url(key, expires_in=LINK_LIFETIME, filename="check.txt")
        return await _follow_link(storage, url, data)

    async def delete() -> str:
        await storage.delete(key)
        if await storage.exists(key):
            raise ValueError("the object is still there after deleting it")
        return "deleted"

    _ = (
        await step("Reach the backend", access())
        and await step("Write an object", put())
        and await step("Read it back", get())
        and await step("Download it through a signed link", link())
    )
    if wrote:
        await step("Delete it", delete())
    return report
