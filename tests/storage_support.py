"""The storage tests' S3-compatible server: moto in server mode on a loopback port (the
`moto` fixture in tests/storage/conftest.py starts it), with KMS beside it for SSE-KMS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import SecretStr

from gigforge.storage.s3 import S3Config

moto_server = pytest.importorskip(
    "moto.server", reason="The S3 tests need moto in server mode (pip install 'moto[server]')"
)
boto3 = pytest.importorskip("boto3", reason="The S3 backend needs boto3 (the s3 extra)")

ACCOUNT = "123456789012"
REGION = "us-east-1"
ACCESS_KEY = "AKIDGIGFORGETEST"
SECRET_KEY = "moto-accepts-any-secret-for-signing"


@dataclass(frozen=True)
class Moto:
    endpoint: str

    def client(self, service: str = "s3") -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def bucket(self, *, versioned: bool = True) -> str:
        name = f"gigforge-{uuid.uuid4().hex[:16]}"
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def config(self, bucket: str, **overrides: Any) -> S3Config:
        values: dict[str, Any] = {
            "bucket": bucket,
            "region": REGION,
            "endpoint_url": self.endpoint,
            "access_key_id": ACCESS_KEY,
            "secret_access_key": SecretStr(SECRET_KEY),
            "multipart_threshold": 5 * 1024 * 1024,
            "part_size": 5 * 1024 * 1024,
        }
        values.update(overrides)
        return S3Config(**values)

    def stored_key(self, bucket: str, name: str, version: str | None = None) -> Any:
        """moto's own record of an object, to change it behind the client's back."""
        from moto.s3.models import s3_backends

        return s3_backends[ACCOUNT]["aws"].get_object(bucket, name, version_id=version)
