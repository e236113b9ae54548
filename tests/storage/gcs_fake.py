"""A local stand-in for Google Cloud Storage that speaks the documented shapes the GCS backend
uses: the OAuth 2.0 JWT-bearer token exchange, the JSON API (buckets.get, objects.insert as
multipart and resumable uploads, objects.get with and without alt=media, objects.list with
versions, objects.delete) and V4-signed XML API downloads (GOOG4-RSA-SHA256).

It checks what GCS checks: the JWT's signature and audience, bearer tokens, the MD5 sent with
an upload, and a signed URL's signature and expiry. It runs in-process behind
httpx.ASGITransport; nothing here is reachable from the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gigforge.storage.gcs import canonical_query_string

ENDPOINT = "https://storage.gcs-fake.test"
TOKEN_URI = f"{ENDPOINT}/token"
EMAIL = "gigforge-files@example-project.iam.gserviceaccount.com"


def service_account_json(key: rsa.RSAPrivateKey) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "example-project",
            "private_key_id": "0123456789abcdef",
            "private_key": pem,
            "client_email": EMAIL,
            "token_uri": TOKEN_URI,
        }
    )


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status)


@dataclass
class FakeGCS:
    public_key: rsa.RSAPublicKey
    bucket: str = "gigforge-deliverables"
    versioning: bool = True
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    data: dict[tuple[str, str], bytes] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _generation: int = 1_700_000_000_000_000

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/token", self.token, methods=["POST"]),
                Route("/storage/v1/b/{bucket}", self.get_bucket, methods=["GET"]),
                Route("/storage/v1/b/{bucket}/o", self.list_objects, methods=["GET"]),
                Route(
                    "/storage/v1/b/{bucket}/o/{name:path}",
                    self.object,
                    methods=["GET", "DELETE"],
                ),
                Route("/upload/storage/v1/b/{bucket}/o", self.upload, methods=["POST", "PUT"]),
                Route("/{bucket}/{name:path}", self.signed_download, methods=["GET"]),
            ]
        )

    # -- auth -----------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion")),
                self.public_key,
                algorithms=["RS256"],
                audience=TOKEN_URI,
                options={"verify_iat": False, "verify_exp": False},
            )
        except jwt.PyJWTError:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if claims.get("iss") != EMAIL or "devstorage" not in claims.get("scope", ""):
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.tokens

    # -- JSON API -------------------------------------------------------------------------

    def _resource(self, name: str, meta: dict[str, Any], data: bytes, kms: str | None) -> dict:
        self._generation += 1
        now = self.clock().isoformat().replace("+00:00", "Z")
        resource = {
            "kind": "storage#object",
            "id": f"{self.bucket}/{name}/{self._generation}",
            "name": name,
            "bucket": self.bucket,
            "generation": str(self._generation),
            "metageneration": "1",
            "contentType": meta.get("contentType", "application/octet-stream"),
            "size": str(len(data)),
            "md5Hash": _md5(data),
            "etag": base64.b64encode(str(self._generation).encode()).decode(),
            "metadata": meta.get("metadata", {}),
            "timeCreated": now,
            "updated": now,
        }
        if kms:
            resource["kmsKeyName"] = f"{kms}/cryptoKeyVersions/1"
        return resource

    def _store(self, meta: dict[str, Any], data: bytes, kms: str | None) -> Response:
        if "md5Hash" in meta:
            actual = _md5(data)
            if meta["md5Hash"] != actual:
                return _error(
                    400,
                    f'Provided MD5 hash "{meta["md5Hash"]}" doesn\'t match calculated MD5 '
                    f'hash "{actual}".',
                )
        resource = self._resource(meta["name"], meta, data, kms)
        generations = self.objects.setdefault(meta["name"], [])
        if not self.versioning:
            generations.clear()
        generations.append(resource)
        self.data[(meta["name"], resource["generation"])] = data
        return JSONResponse(resource)

    async def get_bucket(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "Invalid Credentials")
        if request.path_params["bucket"] != self.bucket:
            return _error(404, "The specified bucket does not exist.")
        return JSONResponse(
            {
                "kind": "storage#bucket",
                "name": self.bucket,
                "versioning": {"enabled": self.versioning},
            }
        )

    async def upload(self, request: Request) -> Response:
        self.requests.append((request.method, request.query_params.get("uploadType", "")))
        if not self._authorized(request):
            return _error(401, "Invalid Credentials")
        if request.path_params["bucket"] != self.bucket:
            return _error(404, "The specified bucket does not exist.")
        kind = request.query_params.get("uploadType")
        kms = request.query_params.get("kmsKeyName")
        body = await request.body()
        if request.method == "POST" and kind == "multipart":
            boundary = request.headers["content-type"].split("boundary=", 1)[1].encode()
            parts = body.split(b"--" + boundary)
            meta_part, media_part = parts[1], parts[2]
            meta = json.loads(meta_part.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n"))
            media = media_part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n")
            return self._store(meta, media, kms)
        if request.method == "POST" and kind == "resumable":
            upload_id = secrets.token_urlsafe(12)
            self.sessions[upload_id] = {
                "meta": json.loads(body),
                "kms": kms,
                "data": bytearray(),
                "total": int(request.headers["x-upload-content-length"]),
            }
            location = (
                f"{ENDPOINT}/upload/storage/v1/b/{self.bucket}/o?uploadType=resumable"
                f"&upload_id={upload_id}"
            )
            return Response(status_code=200, headers={"Location": location})
        if request.method == "PUT" and kind == "resumable":
            session = self.sessions[request.query_params["upload_id"]]
            span, _, total = request.headers["content-range"].removeprefix("bytes ").partition("/")
            start, _, end = span.partition("-")
            if int(start) != len(session["data"]) or int(total) != session["total"]:
                return _error(400, "Invalid request. The Content-Range is not contiguous.")
            session["data"] += body
            if int(end) + 1 < session["total"]:
                return Response(status_code=308, headers={"Range": f"bytes=0-{end}"})
            return self._store(session["meta"], bytes(session["data"]), session["kms"])
        return _error(400, "Unsupported upload type")

    def _find(self, name: str, generation: str | None) -> dict[str, Any] | None:
        generations = self.objects.get(name, [])
        if generation is None:
            return generations[-1] if generations else None
        return next((item for item in generations if item["generation"] == generation), None)

    async def object(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "Invalid Credentials")
        name = request.path_params["name"]
        generation = request.query_params.get("generation")
        found = self._find(name, generation)
        if found is None:
            return _error(404, f"No such object: {self.bucket}/{name}")
        if request.method == "DELETE":
            self.objects[name].remove(found)
            if not self.objects[name]:
                del self.objects[name]
            return Response(status_code=204)
        if request.query_params.get("alt") == "media":
            data = self.data[(name, found["generation"])]
            return Response(
                data,
                media_type=found["contentType"],
                headers={
                    "x-goog-generation": found["generation"],
                    "x-goog-hash": f"md5={found['md5Hash']}",
                },
            )
        return JSONResponse(found)

    async def list_objects(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error(401, "Invalid Credentials")
        prefix = request.query_params.get("prefix", "")
        versions = request.query_params.get("versions") == "true"
        items = [
            item
            for name, generations in sorted(self.objects.items())
            if name.startswith(prefix)
            for item in (generations if versions else generations[-1:])
        ]
        return JSONResponse({"kind": "storage#objects", "items": items})

    # -- XML API, V4 signed ---------------------------------------------------------------

    async def signed_download(self, request: Request) -> Response:
        query = dict(request.query_params)
        signature = query.pop("X-Goog-Signature", "")
        if query.get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256":
            return Response("<Error><Code>AccessDenied</Code></Error>", status_code=403)
        path = "/" + quote(request.path_params["bucket"], safe="") + "/"
        path += quote(request.path_params["name"], safe="/")
        canonical = "\n".join(
            [
                "GET",
                path,
                canonical_query_string(query),
                f"host:{request.headers['host']}",
                "",
                "host",
                "UNSIGNED-PAYLOAD",
            ]
        )
        scope = query["X-Goog-Credential"].split("/", 1)[1]
        to_sign = "\n".join(
            [
                "GOOG4-RSA-SHA256",
                query["X-Goog-Date"],
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        try:
            self.public_key.verify(
                bytes.fromhex(signature), to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return Response("<Error><Code>SignatureDoesNotMatch</Code></Error>", status_code=403)
        signed_at = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if self.clock() > signed_at + timedelta(seconds=int(query["X-Goog-Expires"])):
            return Response(
                "<Error><Code>ExpiredToken</Code><Message>Invalid argument.</Message></Error>",
                status_code=400,
            )
        name = request.path_params["name"]
        found = self._find(name, query.get("generation"))
        if found is None:
            return Response("<Error><Code>NoSuchKey</Code></Error>", status_code=404)
        headers = {}
        if "response-content-disposition" in query:
            headers["Content-Disposition"] = query["response-content-disposition"]
        return Response(
            self.data[(name, found["generation"])],
            media_type=found["contentType"],
            headers=headers,
        )
