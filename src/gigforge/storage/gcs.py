"""Google Cloud Storage through its JSON API, with V4 signed URLs, over httpx.

Uploads send the object's MD5 in its metadata, which GCS checks before it keeps the object
(documented for multipart and resumable uploads); the SHA-256 goes in the custom metadata and
every read is hashed against both. Large objects use a resumable upload in chunks of the part
size. Authentication is a service account: a JWT signed with its key is exchanged at its
`token_uri` for an access token (RFC 7523), and the same key signs download links
(GOOG4-RSA-SHA256). A bucket with Object Versioning keeps every generation.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import SecretStr

from gigforge.kit.clock import utcnow
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

GCS_ENDPOINT = "https://storage.googleapis.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
RESUMABLE_QUANTUM = 256 * 1024
GET_ATTEMPTS = 3


@dataclass(frozen=True)
class GCSConfig:
    bucket: str
    credentials: SecretStr
    prefix: str = ""
    kms_key_name: str | None = None
    endpoint_url: str | None = None
    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: rsa.RSAPrivateKey
    token_uri: str

    @classmethod
    def parse(cls, credentials: SecretStr) -> ServiceAccount:
        try:
            raw = json.loads(credentials.get_secret_value())
            key = serialization.load_pem_private_key(raw["private_key"].encode(), password=None)
            email = str(raw["client_email"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StorageMisconfigured(
                "GIGFORGE_STORAGE_GCS_CREDENTIALS is not a service account key (JSON with "
                "client_email and private_key)."
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise StorageMisconfigured("The service account key is not an RSA key.")
        return cls(email, key, str(raw.get("token_uri") or GOOGLE_TOKEN_URI))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _int(raw: object) -> int:
    return int(str(raw))


class GCSStorage(Storage):
    def __init__(
        self,
        config: GCSConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.config = config
        self._account = ServiceAccount.parse(config.credentials)
        self._prefix = validate_prefix(config.prefix)
        self._endpoint = (config.endpoint_url or GCS_ENDPOINT).rstrip("/")
        self._http = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(60, connect=10), follow_redirects=False
        )
        self._clock = clock
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()
        if config.part_size % RESUMABLE_QUANTUM:
            raise StorageMisconfigured("The GCS chunk size must be a multiple of 256 KiB.")
        self.description = StorageDescription(
            backend="gcs",
            location=f"gs://{config.bucket}/{self._prefix}".rstrip("/"),
            encryption=(
                f"customer-managed key {config.kms_key_name}"
                if config.kms_key_name
                else "Google-managed keys"
            ),
            bucket=config.bucket,
            endpoint=self._endpoint,
            prefix=self._prefix,
        )

    # -- transport ------------------------------------------------------------------------

    async def _access_token(self) -> str:
        async with self._token_lock:
            if self._token and self._token[1] > time.monotonic() + 60:
                return self._token[0]
            now = int(self._clock().timestamp())
            assertion = jwt.encode(
                {
                    "iss": self._account.client_email,
                    "scope": SCOPE,
                    "aud": self._account.token_uri,
                    "iat": now,
                    "exp": now + 3600,
                },
                self._account.private_key,
                algorithm="RS256",
            )
            try:
                answer = await self._http.post(
                    self._account.token_uri,
                    data={
                        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                        "assertion": assertion,
                    },
                )
            except httpx.HTTPError:
                raise StorageUnavailable("Google's token endpoint could not be reached.") from None
            if answer.status_code != 200:
                raise StorageMisconfigured(
                    f"Google refused the service account ({answer.status_code}): check "
                    "GIGFORGE_STORAGE_GCS_CREDENTIALS."
                )
            body = answer.json()
            token = str(body["access_token"])
            self._token = (token, time.monotonic() + float(body.get("expires_in", 3600)))
            return token

    async def _request(
        self,
        key: str,
        method: str,
        url: str,
        *,
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        attempts = GET_ATTEMPTS if method in ("GET", "DELETE") else 1
        extra_headers: dict[str, str] = kwargs.pop("headers", {})
        for attempt in range(attempts):
            headers = {"Authorization": f"Bearer {await self._access_token()}", **extra_headers}
            try:
                request = self._http.build_request(method, url, headers=headers, **kwargs)
                response = await self._http.send(request, stream=stream)
            except httpx.HTTPError:
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.2 * 2**attempt)
                    continue
                raise StorageUnavailable(f"GCS could not be reached for {key}.") from None
            if response.status_code in (429, 500, 502, 503, 504) and attempt + 1 < attempts:
                await response.aclose()
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            if response.status_code == 401:
                self._token = None
            if response.status_code >= 400 and response.status_code != 404:
                if stream:
                    await response.aread()
                raise _mapped(response, key)
            return response
        raise StorageUnavailable(f"GCS kept failing for {key}.")  # pragma: no cover

    def _name(self, key: str) -> str:
        return f"{self._prefix}/{key}" if self._prefix else key

    def _object_url(self, key: str) -> str:
        bucket = quote(self.config.bucket, safe="")
        return f"{self._endpoint}/storage/v1/b/{bucket}/o/{quote(self._name(key), safe='')}"

    def _stored(self, key: str, resource: dict[str, Any]) -> StoredObject:
        metadata = dict(resource.get("metadata") or {})
        sha256 = metadata.pop(SHA256_METADATA, "")
        updated = resource.get("updated")
        return StoredObject(
            key=key,
            size=_int(resource.get("size", 0)),
            sha256=sha256,
            version_id=str(resource["generation"]) if resource.get("generation") else None,
            etag=resource.get("etag"),
            content_type=str(resource.get("contentType") or "application/octet-stream"),
            metadata=metadata,
            last_modified=datetime.fromisoformat(updated.replace("Z", "+00:00"))
            if updated
            else None,
        )

    # -- the interface --------------------------------------------------------------------

    async def _put(
        self, key: str, body: Spooled, *, content_type: str, metadata: dict[str, str]
    ) -> StoredObject:
        resource: dict[str, Any] = {
            "name": self._name(key),
            "contentType": content_type,
            "md5Hash": body.md5_b64,
            "metadata": {**metadata, SHA256_METADATA: body.sha256},
        }
        bucket = quote(self.config.bucket, safe="")
        params = {"kmsKeyName": self.config.kms_key_name} if self.config.kms_key_name else {}
        upload_url = f"{self._endpoint}/upload/storage/v1/b/{bucket}/o"
        if body.size > self.config.multipart_threshold:
            stored = await self._put_resumable(key, body, resource, upload_url, params)
        else:
            boundary = uuid.uuid4().hex
            payload = b"".join(
                [
                    f"--{boundary}\r\n".encode(),
                    b"Content-Type: application/json; charset=UTF-8\r\n\r\n",
                    json.dumps(resource).encode(),
                    f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode(),
                    body.read_all(),
                    f"\r\n--{boundary}--\r\n".encode(),
                ]
            )
            answer = await self._request(
                key,
                "POST",
                upload_url,
                params={"uploadType": "multipart", **params},
                content=payload,
                headers={"Content-Type": f"multipart/related; boundary={boundary}"},
            )
            self._bucket_exists(answer)
            stored = answer.json()
        if stored.get("md5Hash") not in (None, body.md5_b64):
            raise ChecksumMismatch(f"{key}: GCS stored different bytes from those sent.")
        return self._stored(key, stored)

    async def _put_resumable(
        self,
        key: str,
        body: Spooled,
        resource: dict[str, Any],
        upload_url: str,
        params: dict[str, str],
    ) -> dict[str, Any]:
        started = await self._request(
            key,
            "POST",
            upload_url,
            params={"uploadType": "resumable", **params},
            json=resource,
            headers={
                "X-Upload-Content-Type": str(resource["contentType"]),
                "X-Upload-Content-Length": str(body.size),
            },
        )
        self._bucket_exists(started)
        session = started.headers.get("location", "")
        if urlsplit(session).netloc != urlsplit(self._endpoint).netloc:
            raise StorageError("GCS answered the resumable upload with a foreign session URL.")
        offset = 0
        answer: httpx.Response | None = None
        for chunk in body.chunks(self.config.part_size):
            end = offset + len(chunk) - 1
            answer = await self._request(
                key,
                "PUT",
                session,
                content=chunk,
                headers={"Content-Range": f"bytes {offset}-{end}/{body.size}"},
            )
            if answer.status_code == 308:
                confirmed = answer.headers.get("range", "")
                if confirmed != f"bytes=0-{end}":
                    raise ChecksumMismatch(f"{key}: GCS confirmed {confirmed!r} after byte {end}.")
            offset = end + 1
        if answer is None or answer.status_code not in (200, 201):
            raise StorageError(f"{key}: the resumable upload did not finish.")
        result: dict[str, Any] = answer.json()
        return result

    def _bucket_exists(self, answer: httpx.Response) -> None:
        if answer.status_code == 404:
            raise StorageMisconfigured(f"The bucket {self.config.bucket} does not exist.")

    async def _resource(self, key: str, version: str | None) -> dict[str, Any]:
        params = {"generation": version} if version else {}
        answer = await self._request(key, "GET", self._object_url(key), params=params)
        if answer.status_code == 404:
            raise ObjectNotFound(f"No file is stored at {key} (or no such version).")
        resource: dict[str, Any] = answer.json()
        return resource

    async def _stream(
        self, key: str, version: str | None, expected_sha256: str | None
    ) -> AsyncIterator[bytes]:
        resource = await self._resource(key, version)
        generation = str(resource["generation"])
        answer = await self._request(
            key,
            "GET",
            self._object_url(key),
            params={"alt": "media", "generation": generation},
            stream=True,
        )
        if answer.status_code == 404:
            await answer.aclose()
            raise ObjectNotFound(f"No file is stored at {key}.")
        sha256 = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            async for chunk in answer.aiter_bytes(CHUNK_BYTES):
                sha256.update(chunk)
                md5.update(chunk)
                yield chunk
        finally:
            await answer.aclose()
        recorded = (resource.get("metadata") or {}).get(SHA256_METADATA)
        if not (recorded or expected_sha256 or resource.get("md5Hash")):
            raise StorageError(f"{key} has no recorded checksum: it was not written by Gigforge.")
        if resource.get("md5Hash") and resource["md5Hash"] != _b64(md5.digest()):
            raise ChecksumMismatch(f"{key} (generation {generation}) failed its MD5 check.")
        for expected in (recorded, expected_sha256):
            if expected:
                check_sha256(key, generation, expected=expected, actual=sha256.hexdigest())

    async def _head(self, key: str, version: str | None) -> StoredObject:
        return self._stored(key, await self._resource(key, version))

    async def _generations(self, key: str) -> list[dict[str, Any]]:
        bucket = quote(self.config.bucket, safe="")
        url = f"{self._endpoint}/storage/v1/b/{bucket}/o"
        params: dict[str, str] = {"prefix": self._name(key), "versions": "true"}
        found: list[dict[str, Any]] = []
        while True:
            answer = await self._request(key, "GET", url, params=params)
            if answer.status_code == 404:
                raise StorageMisconfigured(f"The bucket {self.config.bucket} does not exist.")
            page = answer.json()
            found += [item for item in page.get("items", []) if item["name"] == self._name(key)]
            if not page.get("nextPageToken"):
                break
            params["pageToken"] = page["nextPageToken"]
        return sorted(found, key=lambda item: _int(item["generation"]), reverse=True)

    async def _versions(self, key: str) -> list[StoredObject]:
        return [self._stored(key, item) for item in await self._generations(key)]

    async def _delete(self, key: str, version: str | None) -> None:
        generations = (
            [version]
            if version
            else [str(item["generation"]) for item in await self._generations(key)]
        )
        if not generations:
            raise ObjectNotFound(f"No file is stored at {key}.")
        for generation in generations:
            answer = await self._request(
                key, "DELETE", self._object_url(key), params={"generation": generation}
            )
            if answer.status_code == 404:
                raise ObjectNotFound(f"{key} has no generation {generation}.")

    async def _signed_url(
        self, key: str, expires_in: timedelta, version: str | None, filename: str | None
    ) -> str:
        return self.sign_url(key, expires_in=expires_in, version=version, filename=filename)

    def sign_url(
        self,
        key: str,
        *,
        expires_in: timedelta,
        version: str | None = None,
        filename: str | None = None,
    ) -> str:
        """A V4 signed GET URL (GOOG4-RSA-SHA256), made locally with the service account key."""
        now = self._clock().astimezone(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        scope = f"{now:%Y%m%d}/auto/storage/goog4_request"
        host = urlsplit(self._endpoint).netloc
        path = "/" + quote(self.config.bucket, safe="") + "/" + quote(self._name(key), safe="/")
        query = {
            "X-Goog-Algorithm": "GOOG4-RSA-SHA256",
            "X-Goog-Credential": f"{self._account.client_email}/{scope}",
            "X-Goog-Date": stamp,
            "X-Goog-Expires": str(int(expires_in.total_seconds())),
            "X-Goog-SignedHeaders": "host",
        }
        if version:
            query["generation"] = version
        if filename:
            query["response-content-disposition"] = content_disposition(filename)
        canonical_query = canonical_query_string(query)
        canonical_request = "\n".join(
            ["GET", path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"]
        )
        to_sign = "\n".join(
            [
                "GOOG4-RSA-SHA256",
                stamp,
                scope,
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        signature = self._account.private_key.sign(
            to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
        ).hex()
        scheme = urlsplit(self._endpoint).scheme
        return f"{scheme}://{host}{path}?{canonical_query}&X-Goog-Signature={signature}"

    async def check_access(self) -> AccessReport:
        bucket = self.config.bucket
        answer = await self._request(
            bucket, "GET", f"{self._endpoint}/storage/v1/b/{quote(bucket, safe='')}"
        )
        if answer.status_code == 404:
            raise StorageMisconfigured(f"The bucket {bucket} does not exist.")
        enabled = bool((answer.json().get("versioning") or {}).get("enabled"))
        if enabled:
            return AccessReport(versioning="on")
        return AccessReport(
            versioning="off",
            notes=("Turn Object Versioning on for the bucket to keep earlier versions.",),
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def canonical_query_string(query: dict[str, str]) -> str:
    return "&".join(
        f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}"
        for name, value in sorted(query.items())
    )


def _mapped(response: httpx.Response, key: str) -> StorageError:
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.reason_phrase
    if response.status_code in (401, 403):
        return StorageMisconfigured(f"GCS refused access to {key}: {message}")
    if response.status_code == 400 and "md5" in message.lower():
        return ChecksumMismatch(f"{key}: GCS found the upload corrupt ({message}).")
    if response.status_code in (429,) or response.status_code >= 500:
        return StorageUnavailable(f"GCS failed on {key}: {message}")
    return StorageError(f"GCS refused {key}: {message}")
