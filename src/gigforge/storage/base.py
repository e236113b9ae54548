"""The one storage interface every backend implements, and what it hands back.

Backends differ in wire protocol only. Each one hashes what it writes (SHA-256), keeps that
hash with the object, and checks it again on every read, so a corrupted copy surfaces as a
`ChecksumMismatch` rather than as a quietly different file. Calls reach the network or the
disk: make them with no database transaction open.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO

from gigforge.storage.errors import ChecksumMismatch, InvalidKey
from gigforge.storage.keys import validate_key

Body = bytes | AsyncIterable[bytes]
CHUNK_BYTES = 1024 * 1024
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024
SHA256_METADATA = "sha256"
MAX_METADATA_ENTRIES = 16


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    version_id: str | None
    etag: str | None
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None


@dataclass(frozen=True)
class StorageDescription:
    """What the operator configured, in words for the dashboard and `gigforge storage check`."""

    backend: str
    location: str
    encryption: str
    bucket: str | None = None
    region: str | None = None
    endpoint: str | None = None
    prefix: str = ""


@dataclass(frozen=True)
class AccessReport:
    """What the backend said about itself: reachable, and whether it keeps versions."""

    versioning: str
    notes: tuple[str, ...] = ()


class Spooled:
    """A body read once into memory or a temporary file, with its size and digests, so an
    upload can be retried and every part checksummed before a byte leaves the process."""

    def __init__(self, handle: IO[bytes], size: int, sha256: bytes, md5: bytes) -> None:
        self.handle = handle
        self.size = size
        self.sha256_digest = sha256
        self.md5_digest = md5

    @property
    def sha256(self) -> str:
        return self.sha256_digest.hex()

    @property
    def sha256_b64(self) -> str:
        return base64.b64encode(self.sha256_digest).decode()

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(self.md5_digest).decode()

    def read_all(self) -> bytes:
        self.handle.seek(0)
        return self.handle.read()

    def chunks(self, size: int) -> Iterator[bytes]:
        self.handle.seek(0)
        while chunk := self.handle.read(size):
            yield chunk

    def close(self) -> None:
        self.handle.close()


async def spool(data: Body) -> Spooled:
    sha256 = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        sha256.update(raw)
        md5.update(raw)
        return Spooled(io.BytesIO(raw), len(raw), sha256.digest(), md5.digest())
    handle = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    try:
        async for chunk in data:
            if not chunk:
                continue
            sha256.update(chunk)
            md5.update(chunk)
            handle.write(chunk)
            size += len(chunk)
    except BaseException:
        handle.close()
        raise
    return Spooled(handle, size, sha256.digest(), md5.digest())


def check_sha256(key: str, version: str | None, *, expected: str, actual: str) -> None:
    if expected.lower() != actual.lower():
        where = f"{key} (version {version})" if version else key
        raise ChecksumMismatch(
            f"{where} read back with SHA-256 {actual[:16]}..., but {expected[:16]}... was "
            "recorded when it was written: the stored copy is corrupt."
        )


def content_disposition(filename: str) -> str:
    """An attachment header that survives any file name (RFC 6266 with RFC 5987 encoding)."""
    from urllib.parse import quote

    ascii_name = "".join(
        char if 32 <= ord(char) < 127 and char not in '"\\;' else "_" for char in filename
    )
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _clean_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        lowered = name.lower()
        if not lowered.replace("-", "").isalnum() or not lowered.isascii():
            raise InvalidKey(f"Metadata names are letters, digits and dashes, not {name!r}.")
        if lowered == SHA256_METADATA:
            raise InvalidKey("The sha256 metadata entry is the storage layer's own.")
        if not value.isascii() or any(ord(char) < 32 for char in value):
            raise InvalidKey(f"Metadata {name!r} must be printable ASCII.")
        cleaned[lowered] = value
    if len(cleaned) > MAX_METADATA_ENTRIES or sum(map(len, cleaned.values())) > 1024:
        raise InvalidKey("At most 16 metadata entries of 1 KiB in all.")
    return cleaned


class Storage:
    """Put, read, list versions of, delete and link to objects under validated keys.

    Every method validates its key first. A put to an existing key makes a new version where
    the backend keeps versions (local always; S3, GCS and B2 when the bucket has versioning
    on); `get` and `stream` read the newest version unless given one.

    Each backend overrides the underscored methods, `check_access` and `aclose`. The class is
    not an ABC so that `Storage` itself can name the process's instance (`context.get(Storage)`
    in a task): type checkers refuse an abstract class there.
    """

    description: StorageDescription
    #: A link's lifetime when the caller names none (GIGFORGE_STORAGE_SIGNED_URL_SECONDS).
    link_lifetime: timedelta = timedelta(minutes=15)

    async def put(
        self,
        key: str,
        data: Body,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> StoredObject:
        validate_key(key)
        cleaned = _clean_metadata(metadata)
        body = await spool(data)
        try:
            return await self._put(key, body, content_type=content_type, metadata=cleaned)
        finally:
            body.close()

    async def get(
        self, key: str, *, version: str | None = None, expected_sha256: str | None = None
    ) -> bytes:
        """The whole object, after its SHA-256 matched the recorded one (and `expected_sha256`
        when the caller kept its own)."""
        validate_key(key)
        chunks = [chunk async for chunk in self._stream(key, version, expected_sha256)]
        return b"".join(chunks)

    def stream(
        self, key: str, *, version: str | None = None, expected_sha256: str | None = None
    ) -> AsyncIterator[bytes]:
        """The object in chunks; the hash is checked after the last chunk and a mismatch
        raises there, so a consumer must treat the whole stream as failed."""
        validate_key(key)
        return self._stream(key, version, expected_sha256)

    async def head(self, key: str, *, version: str | None = None) -> StoredObject:
        validate_key(key)
        return await self._head(key, version)

    async def exists(self, key: str, *, version: str | None = None) -> bool:
        from gigforge.storage.errors import ObjectNotFound

        try:
            await self.head(key, version=version)
        except ObjectNotFound:
            return False
        return True

    async def versions(self, key: str) -> list[StoredObject]:
        """Every kept version of the key, newest first."""
        validate_key(key)
        return await self._versions(key)

    async def delete(self, key: str, *, version: str | None = None) -> None:
        """One version, or the object with all its versions when no version is given."""
        validate_key(key)
        await self._delete(key, version)

    async def signed_url(
        self,
        key: str,
        *,
        expires_in: timedelta | None = None,
        version: str | None = None,
        filename: str | None = None,
    ) -> str:
        """A link anyone holding it can download the object with, until it expires
        (`link_lifetime` from now unless `expires_in` says otherwise)."""
        validate_key(key)
        expires_in = self.link_lifetime if expires_in is None else expires_in
        if expires_in <= timedelta(0) or expires_in > timedelta(days=7):
            raise InvalidKey("A link lasts more than 0 seconds and at most 7 days.")
        return await self._signed_url(key, expires_in, version, filename)

    async def check_access(self) -> AccessReport:
        """Reach the backend once (bucket exists, credentials work) and report versioning."""
        raise self._missing("check_access")

    async def aclose(self) -> None:
        """Release connections and threads the backend holds."""
        raise self._missing("aclose")

    def _missing(self, method: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} does not implement {method}")

    async def _put(
        self, key: str, body: Spooled, *, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        raise self._missing("_put")

    def _stream(
        self, key: str, version: str | None, expected_sha256: str | None
    ) -> AsyncIterator[bytes]:
        raise self._missing("_stream")

    async def _head(self, key: str, version: str | None) -> StoredObject:
        raise self._missing("_head")

    async def _versions(self, key: str) -> list[StoredObject]:
        raise self._missing("_versions")

    async def _delete(self, key: str, version: str | None) -> None:
        raise self._missing("_delete")

    async def _signed_url(
        self, key: str, expires_in: timedelta, version: str | None, filename: str | None
    ) -> str:
        raise self._missing("_signed_url")
