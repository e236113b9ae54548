"""GIGFORGE_STORAGE_* settings: impossible combinations stop the process with one line, and the
factory builds the backend the settings name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gigforge.settings import ConfigurationError, Settings, load_settings
from gigforge.storage import storage_from_settings, user_key
from gigforge.storage.local import LocalStorage
from gigforge.storage.s3 import S3Storage


def _settings(tmp_path: Path, **storage: object) -> Settings:
    return load_settings(
        data_dir=tmp_path,
        **{f"storage_{name}": value for name, value in storage.items()},
    )


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ({"backend": "s3"}, "GIGFORGE_STORAGE_BUCKET must be set for the s3 backend"),
        (
            {"backend": "b2", "bucket": "b", "access_key_id": "k", "secret_access_key": "s"},
            "GIGFORGE_STORAGE_REGION",
        ),
        ({"backend": "b2", "bucket": "b", "region": "us-west-004"}, "B2 application key id"),
        ({"backend": "s3", "bucket": "b", "access_key_id": "k"}, "go together"),
        ({"backend": "gcs", "bucket": "b"}, "GIGFORGE_STORAGE_GCS_CREDENTIALS"),
        ({"backend": "gcs", "bucket": "b", "gcs_credentials": "not json"}, "service account"),
        (
            {"backend": "s3", "bucket": "b", "kms_key_id": "k"},
            "GIGFORGE_STORAGE_ENCRYPTION=sse-kms",
        ),
        ({"encryption": "sse-kms"}, "the local backend has no KMS encryption"),
        (
            {
                "backend": "b2",
                "bucket": "b",
                "region": "us-west-004",
                "access_key_id": "k",
                "secret_access_key": "s",
                "encryption": "sse-kms",
            },
            "the b2 backend has no KMS encryption",
        ),
        (
            {
                "backend": "gcs",
                "bucket": "b",
                "gcs_credentials": '{"client_email": "e", "private_key": "k"}',
                "encryption": "sse-kms",
            },
            "Cloud KMS key name",
        ),
        ({"part_size_bytes": 32 * 1024 * 1024}, "must not exceed"),
        ({"multipart_threshold_bytes": 1024}, "greater than or equal"),
    ],
)
def test_impossible_storage_settings_are_one_line_errors(
    tmp_path: Path, storage: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        _settings(tmp_path, **storage)
    assert "\n" not in str(caught.value)


def test_the_factory_builds_the_named_backend(tmp_path: Path) -> None:
    assert isinstance(storage_from_settings(_settings(tmp_path)), LocalStorage)
    s3 = storage_from_settings(
        _settings(tmp_path, backend="s3", bucket="acme", region="eu-west-1", prefix="gf")
    )
    assert isinstance(s3, S3Storage)
    assert s3.description.location == "s3://acme/gf"
    b2 = storage_from_settings(
        _settings(
            tmp_path,
            backend="b2",
            bucket="acme",
            region="us-west-004",
            access_key_id="004abc",
            secret_access_key="K004secret",
            encryption="sse-s3",
        )
    )
    assert isinstance(b2, S3Storage)
    assert b2.description.endpoint == "https://s3.us-west-004.backblazeb2.com"
    assert b2.description.encryption == "SSE-B2 (AES-256)"
    assert "K004secret" not in repr(b2.config)


async def test_links_last_the_configured_lifetime_by_default(tmp_path: Path) -> None:
    storage = storage_from_settings(load_settings(data_dir=tmp_path, storage_signed_url_seconds=60))
    assert storage.link_lifetime == timedelta(seconds=60)
    assert isinstance(storage, LocalStorage)
    now = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    storage._clock = lambda: now
    key = user_key(uuid.uuid4(), "a.txt")
    await storage.put(key, b"x")
    token = (await storage.signed_url(key)).rsplit("/", 1)[1]
    assert storage.claims(token).expires_at == now + timedelta(seconds=60)
