"""The default backend: a folder on this machine, every version a file of its own.

Layout: `<root>/<prefix>/<key>/.v/<version>.data` beside `<version>.json` (size, SHA-256,
content type, metadata). Versions are UUIDv7 hex, so names sort oldest to newest; a version
exists once its `.json` is in place (written last, by rename). Files are private to the
process's user (0600, folders 0700). Download links point at this app's `/files/<token>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

from gigforge.kit.clock import utcnow
from gigforge.kit.ids import uuid7
from gigforge.storage.base import (
    CHUNK_BYTES,
    AccessReport,
    Spooled,
    Storage,
    StorageDescription,
    StoredObject,
    check_sha256,
)
from gigforge.storage.errors import ObjectNotFound, StorageError
from gigforge.storage.keys import validate_prefix
from gigforge.storage.links import LinkClaims, LinkSigner

VERSIONS_DIR = ".v"
_VERSION = re.compile(r"^[0-9a-f]{32}$")


def _write_private(path: Path, chunks: list[bytes] | Spooled) -> None:
    temporary = path.with_name(path.name + ".part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for chunk in chunks if isinstance(chunks, list) else chunks.chunks(CHUNK_BYTES):
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


class LocalStorage(Storage):
    def __init__(
        self,
        root: Path,
        *,
        signer: LinkSigner,
        public_url: str,
        prefix: str = "",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._base = root.resolve()
        self._prefix = validate_prefix(prefix)
        self._root = self._base / self._prefix if self._prefix else self._base
        self._signer = signer
        self._public_url = public_url.rstrip("/")
        self._clock = clock
        self.description = StorageDescription(
            backend="local",
            location=str(self._root),
            encryption="none at the application level (use an encrypted disk)",
            prefix=self._prefix,
        )

    @property
    def signer(self) -> LinkSigner:
        return self._signer

    def _versions_dir(self, key: str) -> Path:
        return self._root.joinpath(*key.split("/"), VERSIONS_DIR)

    def _version_paths(self, key: str, version: str) -> tuple[Path, Path]:
        if not _VERSION.match(version):
            raise ObjectNotFound(f"{key} has no version {version[:40]!r}.")
        folder = self._versions_dir(key)
        return folder / f"{version}.data", folder / f"{version}.json"

    def _read_record(self, key: str, record: Path) -> StoredObject:
        try:
            raw = json.loads(record.read_text())
        except FileNotFoundError:
            raise ObjectNotFound(f"No file is stored at {key}.") from None
        except (OSError, ValueError) as exc:
            raise StorageError(f"The record of {key} can not be read: {exc}") from None
        return StoredObject(
            key=key,
            size=int(raw["size"]),
            sha256=str(raw["sha256"]),
            version_id=str(raw["version"]),
            etag=str(raw["sha256"]),
            content_type=str(raw["content_type"]),
            metadata=dict(raw["metadata"]),
            last_modified=datetime.fromisoformat(raw["created_at"]),
        )

    def _records(self, key: str) -> list[Path]:
        folder = self._versions_dir(key)
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.json"), reverse=True)

    def _head_sync(self, key: str, version: str | None) -> StoredObject:
        if version is None:
            records = self._records(key)
            if not records:
                raise ObjectNotFound(f"No file is stored at {key}.")
            return self._read_record(key, records[0])
        return self._read_record(key, self._version_paths(key, version)[1])

    def _put_sync(
        self, key: str, body: Spooled, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        version = uuid7().hex
        data_path, record_path = self._version_paths(key, version)
        folder = data_path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(data_path, body)
        now = self._clock()
        record = {
            "version": version,
            "size": body.size,
            "sha256": body.sha256,
            "content_type": content_type,
            "metadata": metadata,
            "created_at": now.isoformat(),
        }
        _write_private(record_path, [json.dumps(record).encode()])
        return self._read_record(key, record_path)

    async def _put(
        self, key: str, body: Spooled, *, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        try:
            return await asyncio.to_thread(self._put_sync, key, body, content_type, metadata)
        except OSError as exc:
            raise StorageError(f"{key} could not be written to the storage folder: {exc}") from None

    async def _stream(
        self, key: str, version: str | None, expected_sha256: str | None
    ) -> AsyncIterator[bytes]:
        stored = await asyncio.to_thread(self._head_sync, key, version)
        assert stored.version_id is not None
        data_path, _ = self._version_paths(key, stored.version_id)
        try:
            handle = await asyncio.to_thread(data_path.open, "rb")
        except FileNotFoundError:
            raise ObjectNotFound(f"The data of {key} is missing from the storage folder.") from None
        digest = hashlib.sha256()
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                digest.update(chunk)
                yield chunk
        finally:
            handle.close()
        actual = digest.hexdigest()
        check_sha256(key, stored.version_id, expected=stored.sha256, actual=actual)
        if expected_sha256 is not None:
            check_sha256(key, stored.version_id, expected=expected_sha256, actual=actual)

    async def _head(self, key: str, version: str | None) -> StoredObject:
        return await asyncio.to_thread(self._head_sync, key, version)

    async def _versions(self, key: str) -> list[StoredObject]:
        def read() -> list[StoredObject]:
            return [self._read_record(key, record) for record in self._records(key)]

        return await asyncio.to_thread(read)

    def _delete_sync(self, key: str, version: str | None) -> None:
        if version is None:
            folder = self._versions_dir(key)
            if not folder.is_dir():
                raise ObjectNotFound(f"No file is stored at {key}.")
            shutil.rmtree(folder)
        else:
            data_path, record_path = self._version_paths(key, version)
            if not record_path.exists():
                raise ObjectNotFound(f"{key} has no version {version}.")
            record_path.unlink()
            data_path.unlink(missing_ok=True)
            folder = data_path.parent
            if not any(folder.iterdir()):
                folder.rmdir()
        parent = self._versions_dir(key).parent
        while parent != self._root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent

    async def _delete(self, key: str, version: str | None) -> None:
        await asyncio.to_thread(self._delete_sync, key, version)

    async def _signed_url(
        self, key: str, expires_in: timedelta, version: str | None, filename: str | None
    ) -> str:
        if version is not None:
            self._version_paths(key, version)
        token = self._signer.sign(
            LinkClaims(
                key=key, version=version, expires_at=self._clock() + expires_in, filename=filename
            )
        )
        return f"{self._public_url}/files/{token}"

    async def check_access(self) -> AccessReport:
        def probe() -> None:
            self._root.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not os.access(self._root, os.W_OK):
                raise StorageError(f"The storage folder {self._root} is not writable.")

        await asyncio.to_thread(probe)
        return AccessReport(versioning="on (every version is kept as its own file)")

    async def aclose(self) -> None:
        """Nothing to release: every file is closed after each call."""

    def claims(self, token: str) -> LinkClaims:
        """A download link's claims, once its signature and expiry hold."""
        return self._signer.verify(token, now=self._clock())

    def verified_path(self, key: str, version: str | None) -> tuple[StoredObject, Path]:
        """The file behind a version after its SHA-256 matched the record: what `/files`
        serves, so a corrupt copy is refused before its first byte is sent."""
        stored = self._head_sync(key, version)
        assert stored.version_id is not None
        data_path, _ = self._version_paths(key, stored.version_id)
        digest = hashlib.sha256()
        try:
            with data_path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    digest.update(chunk)
        except FileNotFoundError:
            raise ObjectNotFound(f"The data of {key} is missing from the storage folder.") from None
        check_sha256(key, stored.version_id, expected=stored.sha256, actual=digest.hexdigest())
        return stored, data_path
