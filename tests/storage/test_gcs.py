"""The GCS backend against a local fake of the GCS JSON and XML APIs (no GCS emulator is
packaged for PyPI or Debian that covers V4 signed URLs; see docs/storage.md)."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from gcs_fake import ENDPOINT, FakeGCS, service_account_json
from pydantic import SecretStr

from gigforge.storage import (
    ChecksumMismatch,
    ObjectNotFound,
    StorageMisconfigured,
    user_key,
)
from gigforge.storage.gcs import GCSConfig, GCSStorage

OWNER = uuid.UUID("0193a1c2-0000-7000-8000-0000000006c5")
KEY = user_key(OWNER, "jobs/3/translation.txt")
MIB = 1024 * 1024


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(private_key: rsa.RSAPrivateKey, clock: Clock) -> FakeGCS:
    return FakeGCS(public_key=private_key.public_key(), clock=clock)


def _storage(
    fake: FakeGCS, private_key: rsa.RSAPrivateKey, clock: Clock, **overrides: object
) -> GCSStorage:
    values: dict[str, object] = {
        "bucket": fake.bucket,
        "credentials": SecretStr(service_account_json(private_key)),
        "endpoint_url": ENDPOINT,
        "multipart_threshold": 5 * MIB,
        "part_size": 2 * MIB,
    }
    values.update(overrides)
    return GCSStorage(
        GCSConfig(**values),  # type: ignore[arg-type]
        transport=httpx.ASGITransport(app=fake.app()),
        clock=clock,
    )


@pytest.fixture
async def gcs(
    fake: FakeGCS, private_key: rsa.RSAPrivateKey, clock: Clock
) -> AsyncIterator[GCSStorage]:
    storage = _storage(fake, private_key, clock)
    yield storage
    await storage.aclose()


async def test_put_get_and_head_through_the_json_api(gcs: GCSStorage, fake: FakeGCS) -> None:
    stored = await gcs.put(KEY, b"hola", content_type="text/plain", metadata={"lang": "es"})
    assert stored.sha256 == hashlib.sha256(b"hola").hexdigest()
    assert stored.metadata == {"lang": "es"}
    assert stored.version_id is not None
    assert await gcs.get(KEY) == b"hola"
    assert (await gcs.head(KEY)).size == 4
    assert fake.objects[KEY][0]["metadata"]["sha256"] == stored.sha256
    assert fake.requests == [("POST", "multipart")]


async def test_generations_are_versions(gcs: GCSStorage) -> None:
    first = await gcs.put(KEY, b"uno")
    second = await gcs.put(KEY, b"dos")
    assert await gcs.get(KEY) == b"dos"
    assert await gcs.get(KEY, version=first.version_id) == b"uno"
    assert [v.version_id for v in await gcs.versions(KEY)] == [
        second.version_id,
        first.version_id,
    ]
    await gcs.delete(KEY, version=second.version_id)
    assert await gcs.get(KEY) == b"uno"
    await gcs.delete(KEY)
    assert not await gcs.exists(KEY)
    with pytest.raises(ObjectNotFound):
        await gcs.delete(KEY)


async def test_a_large_object_goes_up_in_resumable_chunks(gcs: GCSStorage, fake: FakeGCS) -> None:
    data = os.urandom(5 * MIB + 123)
    stored = await gcs.put(KEY, data)
    assert stored.size == len(data)
    assert fake.requests == [("POST", "resumable")] + [("PUT", "resumable")] * 3
    assert await gcs.get(KEY) == data


async def test_a_corrupted_object_fails_its_checksum(gcs: GCSStorage, fake: FakeGCS) -> None:
    stored = await gcs.put(KEY, b"original")
    fake.data[(KEY, str(stored.version_id))] = b"tampered"
    with pytest.raises(ChecksumMismatch):
        await gcs.get(KEY)


async def test_gcs_refuses_an_upload_whose_md5_does_not_match(
    gcs: GCSStorage, fake: FakeGCS
) -> None:
    """The MD5 sent with the upload is what GCS checks before keeping the object."""
    from gigforge.storage.base import spool

    body = await spool(b"what was hashed")
    body.handle = __import__("io").BytesIO(b"what was sent!!")
    with pytest.raises(ChecksumMismatch, match="MD5"):
        await gcs._put(KEY, body, content_type="text/plain", metadata={})
    assert KEY not in fake.objects


async def test_a_signed_url_downloads_until_it_expires(
    gcs: GCSStorage, fake: FakeGCS, clock: Clock
) -> None:
    first = await gcs.put(KEY, b"v1")
    await gcs.put(KEY, b"v2")
    url = await gcs.signed_url(
        KEY, expires_in=timedelta(minutes=15), version=first.version_id, filename="trad.txt"
    )
    assert url.startswith(f"{ENDPOINT}/{fake.bucket}/users/")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app())) as client:
        answer = await client.get(url)
        assert answer.status_code == 200, answer.text
        assert answer.content == b"v1"
        assert 'filename="trad.txt"' in answer.headers["content-disposition"]

        tampered = url.replace("X-Goog-Expires=900", "X-Goog-Expires=9000")
        assert (await client.get(tampered)).status_code == 403

        clock.now += timedelta(minutes=15, seconds=1)
        expired = await client.get(url)
        assert expired.status_code == 400
        assert "ExpiredToken" in expired.text


async def test_customer_managed_keys_are_asked_for(
    fake: FakeGCS, private_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    name = "projects/p/locations/eu/keyRings/gigforge/cryptoKeys/files"
    storage = _storage(fake, private_key, clock, kms_key_name=name)
    try:
        await storage.put(KEY, b"x")
        assert fake.objects[KEY][0]["kmsKeyName"].startswith(name)
        assert "customer-managed key" in storage.description.encryption
    finally:
        await storage.aclose()


async def test_check_access_reports_versioning_and_a_missing_bucket(
    fake: FakeGCS, private_key: rsa.RSAPrivateKey, clock: Clock
) -> None:
    storage = _storage(fake, private_key, clock)
    missing = _storage(fake, private_key, clock, bucket="no-such-bucket")
    try:
        assert (await storage.check_access()).versioning == "on"
        fake.versioning = False
        assert (await storage.check_access()).versioning == "off"
        with pytest.raises(StorageMisconfigured):
            await missing.check_access()
        with pytest.raises(StorageMisconfigured, match="does not exist"):
            await missing.put(KEY, b"x")
        with pytest.raises(StorageMisconfigured, match="does not exist"):
            await missing.put(KEY, os.urandom(5 * MIB + 1))
    finally:
        await storage.aclose()
        await missing.aclose()


async def test_a_key_google_does_not_know_is_refused(fake: FakeGCS, clock: Clock) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    storage = _storage(fake, stranger, clock)
    try:
        with pytest.raises(StorageMisconfigured, match="refused the service account"):
            await storage.put(KEY, b"x")
    finally:
        await storage.aclose()


def test_credentials_that_are_not_a_service_account_are_refused() -> None:
    with pytest.raises(StorageMisconfigured) as caught:
        GCSStorage(GCSConfig(bucket="b", credentials=SecretStr('{"private_key": "nope"}')))
    assert "nope" not in str(caught.value)
