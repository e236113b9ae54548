"""Amazon S3 and S3-compatible stores (Backblaze B2, MinIO) through boto3.

Integrity on the way in: every request's body is covered by the SigV4 payload hash
(`x-amz-content-sha256`) and Content-MD5, and on S3 also by `x-amz-checksum-sha256`; above
the multipart threshold each part carries its own SHA-256 and the composite checksum S3
reports on completion is compared with the one computed here. The object's full SHA-256 goes
in its metadata (`x-amz-meta-sha256`) and every read is hashed against it. B2 refuses the
`x-amz-checksum-*` headers, so the B2 flavour relies on the payload hash, Content-MD5 and
the metadata hash.

boto3 is synchronous: calls run in worker threads so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeVar

from pydantic import SecretStr

from gigforge.storage.base import (
    CHUNK_BYTES,
    SHA256_METADATA,
    AccessReport,
    Spooled,
    Storage,
    StorageDescription,
    StoredObject,
    check_sha256,
    content_disposition,
)
from gigforge.storage.errors import (
    ChecksumMismatch,
    ObjectNotFound,
    StorageError,
    StorageMisconfigured,
    StorageUnavailable,
)
from gigforge.storage.keys import validate_prefix

T = TypeVar("T")
Encryption = Literal["provider-default", "sse-s3", "sse-kms"]
_REGION = re.compile(r"^[a-z0-9-]{2,40}$")
_NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidArgument"}
_MISCONFIGURED = {
    "NoSuchBucket",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthorizationHeaderMalformed",
    "InvalidToken",
    "ExpiredToken",
    "KMS.NotFoundException",
    "KMS.DisabledException",
    "KMS.AccessDeniedException",
    "403",
}


def b2_endpoint(region: str) -> str:
    """Backblaze B2's S3-compatible endpoint for a region such as us-west-004."""
    if not _REGION.match(region):
        raise StorageMisconfigured(f"{region!r} is not a B2 region (us-west-004, say).")
    return f"https://s3.{region}.backblazeb2.com"


@dataclass(frozen=True)
class S3Config:
    bucket: str
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    prefix: str = ""
    encryption: Encryption = "provider-default"
    kms_key_id: str | None = None
    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024
    flavor: Literal["s3", "b2"] = "s3"

    @property
    def effective_endpoint(self) -> str | None:
        if self.endpoint_url:
            return self.endpoint_url.rstrip("/")
        if self.flavor == "b2":
            if not self.region:
                raise StorageMisconfigured("The b2 backend needs a region (us-west-004, say).")
            return b2_endpoint(self.region)
        return None

    @property
    def sends_checksum_headers(self) -> bool:
        return self.flavor == "s3"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def composite_sha256(part_digests: list[bytes]) -> str:
    """S3's checksum of a multipart object: the SHA-256 of the parts' SHA-256s, then -N."""
    return f"{_b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def _version(raw: object) -> str | None:
    return None if raw in (None, "", "null") else str(raw)


class S3Storage(Storage):
    def __init__(self, config: S3Config, *, client: Any | None = None) -> None:
        self.config = config
        self._prefix = validate_prefix(config.prefix)
        self._client = client if client is not None else self._build_client()
        endpoint = config.effective_endpoint
        self.description = StorageDescription(
            backend=config.flavor,
            location=f"{config.flavor}://{config.bucket}/{self._prefix}".rstrip("/"),
            encryption=self._encryption_words(),
            bucket=config.bucket,
            region=config.region,
            endpoint=endpoint or "https://s3.amazonaws.com",
            prefix=self._prefix,
        )

    def _encryption_words(self) -> str:
        if self.config.encryption == "sse-kms":
            key = self.config.kms_key_id or "the account's aws/s3 key"
            return f"SSE-KMS with {key}"
        if self.config.encryption == "sse-s3":
            return "SSE-B2 (AES-256)" if self.config.flavor == "b2" else "SSE-S3 (AES-256)"
        return "the bucket's default"

    def _build_client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = self.config
        secret = config.secret_access_key.get_secret_value() if config.secret_access_key else None
        client_config = Config(
            region_name=config.region or "us-east-1",
            signature_version="s3v4",
            connect_timeout=10,
            read_timeout=60,
            retries={"max_attempts": 4, "mode": "standard"},
            # Checksums are sent explicitly below; the SDK's automatic CRC32 headers are
            # refused by B2 and some S3-compatible servers.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={
                "payload_signing_enabled": True,
                "addressing_style": "path" if config.endpoint_url else "virtual",
            },
        )
        session = boto3.session.Session()
        return session.client(
            "s3",
            endpoint_url=config.effective_endpoint,
            aws_access_key_id=config.access_key_id,
            aws_secret_access_key=secret,
            config=client_config,
        )

    def _full(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _encryption_params(self) -> dict[str, str]:
        if self.config.encryption == "sse-kms":
            params = {"ServerSideEncryption": "aws:kms"}
            if self.config.kms_key_id:
                params["SSEKMSKeyId"] = self.config.kms_key_id
            return params
        if self.config.encryption == "sse-s3":
            return {"ServerSideEncryption": "AES256"}
        return {}

    async def _call(self, key: str, operation: Callable[..., T], **params: Any) -> T:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        try:
            return await asyncio.to_thread(operation, **params)
        except ClientError as exc:
            raise _mapped(exc, key) from None
        except EndpointConnectionError:
            raise StorageUnavailable(
                f"The {self.config.flavor} endpoint could not be reached for {key}."
            ) from None
        except BotoCoreError as exc:
            raise StorageError(f"{self.config.flavor} failed on {key}: {exc}") from None

    async def _put(
        self, key: str, body: Spooled, *, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        common: dict[str, Any] = {
            "Bucket": self.config.bucket,
            "Key": self._full(key),
            "ContentType": content_type,
            "Metadata": {**metadata, SHA256_METADATA: body.sha256},
            **self._encryption_params(),
        }
        if body.size > self.config.multipart_threshold:
            version = await self._put_multipart(key, body, common)
        else:
            params = {**common, "Body": body.read_all(), "ContentMD5": body.md5_b64}
            if self.config.sends_checksum_headers:
                params |= {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": body.sha256_b64}
            done = await self._call(key, self._client.put_object, **params)
            reported = done.get("ChecksumSHA256")
            if reported and reported != body.sha256_b64:
                await self._discard(key, _version(done.get("VersionId")))
                raise ChecksumMismatch(f"{key}: S3 stored different bytes from those sent.")
            version = _version(done.get("VersionId"))
        return await self._head(key, version)

    async def _put_multipart(self, key: str, body: Spooled, common: dict[str, Any]) -> str | None:
        checksums = self.config.sends_checksum_headers
        created = await self._call(
            key,
            self._client.create_multipart_upload,
            **common,
            **({"ChecksumAlgorithm": "SHA256"} if checksums else {}),
        )
        upload = {"Bucket": common["Bucket"], "Key": common["Key"], "UploadId": created["UploadId"]}
        parts: list[dict[str, Any]] = []
        digests: list[bytes] = []
        try:
            for number, chunk in enumerate(body.chunks(self.config.part_size), start=1):
                digest = hashlib.sha256(chunk).digest()
                md5 = hashlib.md5(chunk, usedforsecurity=False).digest()
                params: dict[str, Any] = {
                    **upload,
                    "PartNumber": number,
                    "Body": chunk,
                    "ContentMD5": _b64(md5),
                }
                if checksums:
                    params |= {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": _b64(digest)}
                sent = await self._call(key, self._client.upload_part, **params)
                if checksums and sent.get("ChecksumSHA256", _b64(digest)) != _b64(digest):
                    raise ChecksumMismatch(f"{key}: part {number} was stored with other bytes.")
                part = {"PartNumber": number, "ETag": sent["ETag"]}
                if checksums:
                    part["ChecksumSHA256"] = _b64(digest)
                parts.append(part)
                digests.append(digest)
            done = await self._call(
                key,
                self._client.complete_multipart_upload,
                **upload,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            await asyncio.shield(self._abort(key, upload))
            raise
        version = _version(done.get("VersionId"))
        if checksums:
            await self._check_composite(key, version, composite_sha256(digests), done)
        return version

    async def _check_composite(
        self, key: str, version: str | None, expected: str, done: dict[str, Any]
    ) -> None:
        """The full-object check of a multipart upload: S3's composite checksum of what it
        assembled must be the one computed from the parts sent."""
        reported = done.get("ChecksumSHA256")
        if reported is None:
            head = await self._call(
                key, self._client.head_object, **self._locate(key, version), ChecksumMode="ENABLED"
            )
            reported = head.get("ChecksumSHA256")
        if reported is None:
            return
        if "-" not in reported:
            reported = f"{reported}-{expected.rsplit('-', 1)[1]}"
        if reported != expected:
            await self._discard(key, version)
            raise ChecksumMismatch(
                f"{key}: the assembled object's checksum {reported} is not {expected}."
            )

    async def _abort(self, key: str, upload: dict[str, Any]) -> None:
        # If even the abort fails, a lifecycle rule for incomplete uploads cleans up.
        with contextlib.suppress(StorageError):
            await self._call(key, self._client.abort_multipart_upload, **upload)

    async def _discard(self, key: str, version: str | None) -> None:
        if version is not None:
            await self._call(key, self._client.delete_object, **self._locate(key, version))

    def _locate(self, key: str, version: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"Bucket": self.config.bucket, "Key": self._full(key)}
        if version is not None:
            params["VersionId"] = version
        return params

    async def _stream(
        self, key: str, version: str | None, expected_sha256: str | None
    ) -> AsyncIterator[bytes]:
        from botocore.exceptions import FlexibleChecksumError

        params = self._locate(key, version)
        if self.config.sends_checksum_headers:
            params["ChecksumMode"] = "ENABLED"
        got = await self._call(key, self._client.get_object, **params)
        version_id = _version(got.get("VersionId"))
        recorded = got.get("Metadata", {}).get(SHA256_METADATA)
        server = got.get("ChecksumSHA256")
        server_hex = base64.b64decode(server).hex() if server and "-" not in server else None
        if not (recorded or server_hex or expected_sha256):
            got["Body"].close()
            raise StorageError(f"{key} has no recorded SHA-256: it was not written by Gigforge.")
        digest = hashlib.sha256()
        stream = got["Body"]
        try:
            while chunk := await asyncio.to_thread(stream.read, CHUNK_BYTES):
                digest.update(chunk)
                yield chunk
        except FlexibleChecksumError:
            raise ChecksumMismatch(
                f"{key}: the bytes read do not match the checksum S3 holds for them."
            ) from None
        finally:
            stream.close()
        actual = digest.hexdigest()
        for expected in (recorded, server_hex, expected_sha256):
            if expected:
                check_sha256(key, version_id, expected=expected, actual=actual)

    def _stored(self, key: str, head: dict[str, Any]) -> StoredObject:
        metadata = dict(head.get("Metadata", {}))
        sha256 = metadata.pop(SHA256_METADATA, "")
        return StoredObject(
            key=key,
            size=int(head.get("ContentLength", 0)),
            sha256=sha256,
            version_id=_version(head.get("VersionId")),
            etag=str(head.get("ETag", "")).strip('"') or None,
            content_type=str(head.get("ContentType", "application/octet-stream")),
            metadata=metadata,
            last_modified=head.get("LastModified"),
        )

    async def _head(self, key: str, version: str | None) -> StoredObject:
        head = await self._call(key, self._client.head_object, **self._locate(key, version))
        return self._stored(key, head)

    async def encryption_of(self, key: str, version: str | None = None) -> str | None:
        """How the object is encrypted at rest, as S3 reports it (aws:kms, AES256)."""
        head = await self._call(key, self._client.head_object, **self._locate(key, version))
        found = head.get("ServerSideEncryption")
        return None if found is None else str(found)

    async def _raw_versions(self, key: str) -> list[dict[str, Any]]:
        full = self._full(key)
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"Bucket": self.config.bucket, "Prefix": full}
        while True:
            page = await self._call(key, self._client.list_object_versions, **params)
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if entry["Key"] == full:
                    found.append(entry)
            if not page.get("IsTruncated"):
                return found
            params["KeyMarker"] = page["NextKeyMarker"]
            params["VersionIdMarker"] = page["NextVersionIdMarker"]

    async def _versions(self, key: str) -> list[StoredObject]:
        entries = [entry for entry in await self._raw_versions(key) if "Size" in entry]
        entries.sort(key=lambda entry: entry["LastModified"], reverse=True)
        return [await self._head(key, _version(entry.get("VersionId"))) for entry in entries]

    async def _delete(self, key: str, version: str | None) -> None:
        if version is not None:
            await self._head(key, version)
            await self._call(key, self._client.delete_object, **self._locate(key, version))
            return
        entries = await self._raw_versions(key)
        if not entries:
            raise ObjectNotFound(f"No file is stored at {key}.")
        for start in range(0, len(entries), 1000):
            batch = [
                {"Key": entry["Key"], "VersionId": entry.get("VersionId") or "null"}
                for entry in entries[start : start + 1000]
            ]
            result = await self._call(
                key,
                self._client.delete_objects,
                Bucket=self.config.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )
            if result.get("Errors"):
                first = result["Errors"][0]
                raise StorageError(f"{key} could not be deleted: {first.get('Message')}")

    async def _signed_url(
        self, key: str, expires_in: timedelta, version: str | None, filename: str | None
    ) -> str:
        params = self._locate(key, version)
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        url: str = await self._call(
            key,
            self._client.generate_presigned_url,
            ClientMethod="get_object",
            Params=params,
            ExpiresIn=int(expires_in.total_seconds()),
        )
        return url

    async def check_access(self) -> AccessReport:
        bucket = self.config.bucket
        try:
            await self._call(bucket, self._client.head_bucket, Bucket=bucket)
        except ObjectNotFound:
            raise StorageMisconfigured(f"The bucket {bucket} does not exist.") from None
        try:
            status = await self._call(bucket, self._client.get_bucket_versioning, Bucket=bucket)
        except StorageError:
            return AccessReport(versioning="unknown (the credentials may not read it)")
        state = status.get("Status")
        if state == "Enabled":
            return AccessReport(versioning="on")
        notes = ("Turn versioning on for the bucket so every upload keeps earlier versions.",)
        return AccessReport(versioning="suspended" if state else "off", notes=notes)

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)


def _mapped(exc: Any, key: str) -> StorageError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in _NOT_FOUND and (code != "InvalidArgument" or "version" in message.lower()):
        return ObjectNotFound(f"No file is stored at {key} (or no such version).")
    if code in _MISCONFIGURED or code.startswith("KMS."):
        return StorageMisconfigured(f"The storage backend refused access to {key}: {message}")
    if code == "BadDigest" or "checksum" in code.lower() or "digest" in code.lower():
        return ChecksumMismatch(f"{key}: the server found the upload corrupt ({message}).")
    if status is not None and int(status) >= 500:
        return StorageUnavailable(f"The storage backend failed on {key}: {message}")
    return StorageError(f"The storage backend refused {key}: {message}")
