"""The S3 backend against moto in server mode: a real S3 wire protocol on a loopback port."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gigforge.storage import (
    ChecksumMismatch,
    InvalidKey,
    ObjectNotFound,
    StorageMisconfigured,
    user_key,
)
from gigforge.storage.s3 import S3Storage, b2_endpoint, composite_sha256
from storage_support import Moto

OWNER = uuid.UUID("0193a1c2-0000-7000-8000-00000000a11c")
MIB = 1024 * 1024


def _headers(request: Any) -> dict[str, str]:
    return {
        name.lower(): value.decode() if isinstance(value, bytes) else str(value)
        for name, value in request.headers.items()
    }


def _key(name: str = "deliverables/report.md") -> str:
    return user_key(OWNER, name)


async def test_put_then_get_returns_the_bytes_with_their_sha256_recorded(
    s3: S3Storage, moto: Moto
) -> None:
    data = b"# Report\n\nDelivered.\n"
    stored = await s3.put(_key(), data, content_type="text/markdown", metadata={"job": "42"})
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.content_type == "text/markdown"
    assert stored.metadata == {"job": "42"}
    assert await s3.get(_key()) == data
    raw = moto.client().head_object(Bucket=s3.config.bucket, Key=_key(), ChecksumMode="ENABLED")
    assert raw["Metadata"]["sha256"] == stored.sha256
    assert raw["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


async def test_a_stream_is_uploaded_and_read_back_in_chunks(s3: S3Storage) -> None:
    async def chunks() -> Any:
        for part in (b"first ", b"second ", b"third"):
            yield part

    stored = await s3.put(_key("notes.txt"), chunks())
    assert stored.size == len(b"first second third")
    assert b"".join([chunk async for chunk in s3.stream(_key("notes.txt"))]) == (
        b"first second third"
    )


async def test_a_put_to_an_existing_key_makes_a_new_version_and_keeps_the_old(
    s3: S3Storage,
) -> None:
    first = await s3.put(_key(), b"draft one")
    second = await s3.put(_key(), b"draft two")
    assert first.version_id is not None
    assert second.version_id not in (None, first.version_id)
    assert await s3.get(_key()) == b"draft two"
    assert await s3.get(_key(), version=first.version_id) == b"draft one"
    versions = await s3.versions(_key())
    assert [version.version_id for version in versions] == [second.version_id, first.version_id]
    assert versions[1].sha256 == hashlib.sha256(b"draft one").hexdigest()

    await s3.delete(_key(), version=first.version_id)
    assert [version.version_id for version in await s3.versions(_key())] == [second.version_id]
    await s3.delete(_key())
    assert not await s3.exists(_key())
    assert await s3.versions(_key()) == []


async def test_a_large_upload_goes_in_parts_each_with_its_sha256(s3: S3Storage, moto: Moto) -> None:
    data = os.urandom(11 * MIB)  # three parts of 5, 5 and 1 MiB
    sent: list[tuple[str, dict[str, str]]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append((request.url, _headers(request)))

    s3._client.meta.events.register("before-send.s3.UploadPart", record)
    stored = await s3.put(_key("archive.zip"), data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()

    digests = [hashlib.sha256(data[i : i + 5 * MIB]).digest() for i in range(0, len(data), 5 * MIB)]
    assert len(sent) == 3
    for (url, headers), digest in zip(sent, digests, strict=True):
        assert "partNumber=" in url
        assert headers["x-amz-checksum-sha256"] == base64.b64encode(digest).decode()
        assert headers["x-amz-content-sha256"] == digest.hex()
    head = moto.client().head_object(
        Bucket=s3.config.bucket, Key=_key("archive.zip"), ChecksumMode="ENABLED"
    )
    # S3's full-object check of a multipart upload: the composite of the parts' SHA-256s.
    assert head["ChecksumSHA256"].split("-")[0] == composite_sha256(digests).split("-")[0]
    assert head["Metadata"]["sha256"] == stored.sha256
    assert await s3.get(_key("archive.zip")) == data
    uploads = moto.client().list_multipart_uploads(Bucket=s3.config.bucket)
    assert uploads.get("Uploads", []) == []


async def test_a_signed_url_downloads_the_version_under_the_given_name(
    s3: S3Storage,
) -> None:
    first = await s3.put(_key(), b"version one")
    await s3.put(_key(), b"version two")
    url = await s3.signed_url(
        _key(), expires_in=timedelta(minutes=5), version=first.version_id, filename="report.md"
    )
    async with httpx.AsyncClient() as client:
        answer = await client.get(url)
    assert answer.status_code == 200
    assert answer.content == b"version one"
    assert 'filename="report.md"' in answer.headers["content-disposition"]


async def test_a_signed_url_states_its_lifetime_in_the_signed_query(s3: S3Storage) -> None:
    """moto does not enforce presigned expiry, so this checks what S3 enforces: the lifetime
    and signing time are parameters covered by the SigV4 signature."""
    await s3.put(_key(), b"x")
    url = await s3.signed_url(_key(), expires_in=timedelta(seconds=90))
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["90"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Date"]
    assert query["X-Amz-Signature"]
    with pytest.raises(InvalidKey, match="7 days"):
        await s3.signed_url(_key(), expires_in=timedelta(days=8))


async def test_sse_kms_encrypts_every_object_with_the_configured_key(moto: Moto) -> None:
    key_id = moto.client("kms").create_key(Description="gigforge deliverables")["KeyMetadata"][
        "KeyId"
    ]
    bucket = moto.bucket()
    storage = S3Storage(moto.config(bucket, encryption="sse-kms", kms_key_id=key_id))
    try:
        await storage.put(_key(), b"secret deliverable")
        await storage.put(_key("big.bin"), os.urandom(6 * MIB))
        for name in (_key(), _key("big.bin")):
            head = moto.client().head_object(Bucket=bucket, Key=name)
            assert head["ServerSideEncryption"] == "aws:kms"
            assert head["SSEKMSKeyId"].endswith(key_id)
        assert await storage.encryption_of(_key()) == "aws:kms"
        assert await storage.get(_key()) == b"secret deliverable"
        assert "SSE-KMS" in storage.description.encryption
    finally:
        await storage.aclose()


async def test_a_corrupted_object_is_refused_with_a_checksum_mismatch(
    s3: S3Storage, moto: Moto
) -> None:
    stored = await s3.put(_key(), b"the original bytes")
    moto.stored_key(s3.config.bucket, _key(), stored.version_id).value = b"the tampered bytes"
    with pytest.raises(ChecksumMismatch):
        await s3.get(_key())
    with pytest.raises(ChecksumMismatch):
        _ = [chunk async for chunk in s3.stream(_key())]


async def test_a_corrupted_part_of_a_large_object_is_refused(s3: S3Storage, moto: Moto) -> None:
    data = os.urandom(6 * MIB)
    stored = await s3.put(_key("big.bin"), data)
    record = moto.stored_key(s3.config.bucket, _key("big.bin"), stored.version_id)
    record.value = data[:-1] + bytes([data[-1] ^ 0xFF])
    with pytest.raises(ChecksumMismatch):
        await s3.get(_key("big.bin"))


async def test_the_callers_own_sha256_is_checked_too(s3: S3Storage) -> None:
    await s3.put(_key(), b"bytes")
    with pytest.raises(ChecksumMismatch):
        await s3.get(_key(), expected_sha256=hashlib.sha256(b"other").hexdigest())


async def test_missing_objects_and_buckets_are_typed_errors(s3: S3Storage, moto: Moto) -> None:
    with pytest.raises(ObjectNotFound):
        await s3.get(_key("absent.txt"))
    with pytest.raises(ObjectNotFound):
        await s3.head(_key("absent.txt"))
    assert not await s3.exists(_key("absent.txt"))
    with pytest.raises(ObjectNotFound):
        await s3.delete(_key("absent.txt"))
    missing = S3Storage(moto.config("gigforge-no-such-bucket"))
    try:
        with pytest.raises(StorageMisconfigured):
            await missing.check_access()
    finally:
        await missing.aclose()


async def test_check_access_reports_versioning(moto: Moto) -> None:
    on = S3Storage(moto.config(moto.bucket()))
    off = S3Storage(moto.config(moto.bucket(versioned=False)))
    try:
        assert (await on.check_access()).versioning == "on"
        report = await off.check_access()
        assert report.versioning == "off"
        assert "versioning" in report.notes[0]
    finally:
        await on.aclose()
        await off.aclose()


async def test_an_unversioned_bucket_replaces_the_object(moto: Moto) -> None:
    storage = S3Storage(moto.config(moto.bucket(versioned=False)))
    try:
        first = await storage.put(_key(), b"one")
        await storage.put(_key(), b"two")
        assert first.version_id is None
        assert await storage.get(_key()) == b"two"
        assert len(await storage.versions(_key())) == 1
    finally:
        await storage.aclose()


async def test_the_prefix_puts_every_key_in_a_folder(moto: Moto) -> None:
    bucket = moto.bucket()
    storage = S3Storage(moto.config(bucket, prefix="/tenant-a/files/"))
    try:
        await storage.put(_key(), b"x")
        listed = moto.client().list_objects_v2(Bucket=bucket)["Contents"]
        assert [entry["Key"] for entry in listed] == [f"tenant-a/files/{_key()}"]
    finally:
        await storage.aclose()


def test_b2_endpoints_are_built_from_the_region() -> None:
    assert b2_endpoint("us-west-004") == "https://s3.us-west-004.backblazeb2.com"
    with pytest.raises(StorageMisconfigured):
        b2_endpoint("us-west-004.evil.example/")


async def test_the_b2_flavour_sends_no_checksum_headers_and_still_verifies(
    moto: Moto,
) -> None:
    """B2 refuses x-amz-checksum-* headers: the same S3 code, pointed at an S3 server, sends
    Content-MD5 and a signed payload hash instead, and still checks every read."""
    bucket = moto.bucket()
    storage = S3Storage(moto.config(bucket, flavor="b2", region="us-west-004"))
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(_headers(request))

    storage._client.meta.events.register("before-send.s3", record)
    try:
        assert storage.description.backend == "b2"
        stored = await storage.put(_key(), b"b2 bytes")
        await storage.put(_key("big.bin"), os.urandom(6 * MIB))
        puts = [headers for headers in sent if "content-md5" in headers]
        assert len(puts) == 3  # one object, two parts
        for headers in sent:
            assert not any(name.startswith("x-amz-checksum-") for name in headers), headers
            assert "x-amz-sdk-checksum-algorithm" not in headers
        for headers in puts:
            assert headers["x-amz-content-sha256"] != "UNSIGNED-PAYLOAD"
        moto.stored_key(bucket, _key(), stored.version_id).value = b"b2 bytez"
        with pytest.raises(ChecksumMismatch):
            await storage.get(_key())
    finally:
        await storage.aclose()


def test_the_b2_backend_defaults_to_its_regional_endpoint() -> None:
    from gigforge.storage.s3 import S3Config

    config = S3Config(bucket="deliverables", region="eu-central-003", flavor="b2")
    assert config.effective_endpoint == "https://s3.eu-central-003.backblazeb2.com"
    assert not config.sends_checksum_headers
    storage = S3Storage(config)
    assert storage.description.endpoint == "https://s3.eu-central-003.backblazeb2.com"
    assert storage._client.meta.endpoint_url == "https://s3.eu-central-003.backblazeb2.com"
