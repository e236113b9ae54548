"""The storage the settings name, built once per process."""

from __future__ import annotations

from datetime import timedelta

from gigforge.settings import Settings
from gigforge.storage.base import Storage
from gigforge.storage.links import LinkSigner


def storage_from_settings(settings: Settings) -> Storage:
    storage = _build(settings)
    storage.link_lifetime = timedelta(seconds=settings.storage_signed_url_seconds)
    return storage


def _build(settings: Settings) -> Storage:
    backend = settings.storage_backend
    if backend == "local":
        from gigforge.storage.local import LocalStorage

        return LocalStorage(
            settings.storage_root,
            signer=LinkSigner(settings.signing_key),
            public_url=settings.public_url,
            prefix=settings.storage_prefix,
        )
    assert settings.storage_bucket is not None  # the settings validator insists
    if backend == "gcs":
        from gigforge.storage.gcs import GCSConfig, GCSStorage

        assert settings.storage_gcs_credentials is not None
        return GCSStorage(
            GCSConfig(
                bucket=settings.storage_bucket,
                credentials=settings.storage_gcs_credentials,
                prefix=settings.storage_prefix,
                kms_key_name=settings.storage_kms_key_id,
                endpoint_url=settings.storage_endpoint_url,
                multipart_threshold=settings.storage_multipart_threshold_bytes,
                part_size=settings.storage_part_size_bytes,
            )
        )
    from gigforge.storage.s3 import S3Config, S3Storage

    return S3Storage(
        S3Config(
            bucket=settings.storage_bucket,
            region=settings.storage_region,
            endpoint_url=settings.storage_endpoint_url,
            access_key_id=settings.storage_access_key_id,
            secret_access_key=settings.storage_secret_access_key,
            prefix=settings.storage_prefix,
            encryption=settings.storage_encryption,
            kms_key_id=settings.storage_kms_key_id,
            multipart_threshold=settings.storage_multipart_threshold_bytes,
            part_size=settings.storage_part_size_bytes,
            flavor="b2" if backend == "b2" else "s3",
        )
    )
