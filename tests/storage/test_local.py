"""The local backend: a private folder, every version a file, checksums checked on read."""

from __future__ import annotations

import hashlib
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gigforge.storage import ChecksumMismatch, InvalidKey, ObjectNotFound, user_key
from gigforge.storage.errors import InvalidLink, LinkExpired
from gigforge.storage.links import LinkSigner
from gigforge.storage.local import LocalStorage

OWNER = uuid.UUID("0193a1c2-0000-7000-8000-00000000beef")
KEY = user_key(OWNER, "jobs/1/essay.md")
SECRET = "a test signing key that is long enough to be real"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _storage(root: Path, clock: Clock | None = None, prefix: str = "") -> LocalStorage:
    return LocalStorage(
        root,
        signer=LinkSigner(SECRET),
        public_url="http://127.0.0.1:8000/",
        prefix=prefix,
        clock=clock or Clock(),
    )


async def test_put_and_get_round_trip_with_sha256(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    stored = await storage.put(KEY, b"essay", content_type="text/markdown", metadata={"Job": "1"})
    assert stored.sha256 == hashlib.sha256(b"essay").hexdigest()
    assert stored.version_id is not None
    assert stored.metadata == {"job": "1"}
    assert await storage.get(KEY) == b"essay"
    head = await storage.head(KEY)
    assert head == stored


async def test_files_are_private_to_the_process_user(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    stored = await storage.put(KEY, b"private")
    folder = tmp_path.joinpath(*KEY.split("/"), ".v")
    data = folder / f"{stored.version_id}.data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_every_put_keeps_a_version(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    first = await storage.put(KEY, b"one")
    second = await storage.put(KEY, b"two")
    assert await storage.get(KEY) == b"two"
    assert await storage.get(KEY, version=first.version_id) == b"one"
    assert [v.version_id for v in await storage.versions(KEY)] == [
        second.version_id,
        first.version_id,
    ]
    await storage.delete(KEY, version=second.version_id)
    assert await storage.get(KEY) == b"one"
    await storage.delete(KEY)
    assert not await storage.exists(KEY)
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - empty folders are pruned


async def test_a_stream_is_spooled_hashed_and_stored(tmp_path: Path) -> None:
    storage = _storage(tmp_path)

    async def body() -> Any:
        for _ in range(3):
            yield b"x" * 1000

    stored = await storage.put(KEY, body())
    assert stored.size == 3000
    assert b"".join([chunk async for chunk in storage.stream(KEY)]) == b"x" * 3000


async def test_a_file_changed_on_disk_fails_its_checksum(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    stored = await storage.put(KEY, b"the original")
    data = tmp_path.joinpath(*KEY.split("/"), ".v", f"{stored.version_id}.data")
    data.write_bytes(b"the modified")
    with pytest.raises(ChecksumMismatch, match="corrupt"):
        await storage.get(KEY)
    with pytest.raises(ChecksumMismatch):
        storage.verified_path(KEY, None)


async def test_versions_can_not_name_paths(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    await storage.put(KEY, b"x")
    for version in ("../../../etc/passwd", "x" * 32, "..", ""):
        with pytest.raises(ObjectNotFound):
            await storage.get(KEY, version=version or "0")
    with pytest.raises(InvalidKey):
        await storage.put("users/../../etc/passwd", b"x")


async def test_signed_links_carry_key_version_name_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    storage = _storage(tmp_path, clock)
    stored = await storage.put(KEY, b"x")
    url = await storage.signed_url(
        KEY, expires_in=timedelta(minutes=10), version=stored.version_id, filename="Essay.md"
    )
    assert url.startswith("http://127.0.0.1:8000/files/")
    token = url.rsplit("/", 1)[1]
    claims = storage.claims(token)
    assert (claims.key, claims.version, claims.filename) == (KEY, stored.version_id, "Essay.md")

    clock.now += timedelta(minutes=10)
    with pytest.raises(LinkExpired):
        storage.claims(token)

    payload, mac = token.split(".")
    with pytest.raises(InvalidLink):
        storage.claims(f"{payload}x.{mac}")
    other = LocalStorage(
        tmp_path, signer=LinkSigner("another key entirely, also long"), public_url="http://x"
    )
    with pytest.raises(InvalidLink):
        other.claims(token)


async def test_the_prefix_is_a_subfolder(tmp_path: Path) -> None:
    storage = _storage(tmp_path, prefix="deliverables")
    await storage.put(KEY, b"x")
    assert (tmp_path / "deliverables" / "users").is_dir()
    assert (await storage.check_access()).versioning.startswith("on")
