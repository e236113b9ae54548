"""GET /files/{token}: the local backend's signed download links."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from gigforge.kit.problems import problem_responses
from gigforge.storage.base import Storage, content_disposition
from gigforge.storage.errors import (
    ChecksumMismatch,
    InvalidLink,
    LinkExpired,
    ObjectNotFound,
)
from gigforge.storage.keys import filename_of
from gigforge.storage.local import LocalStorage

router = APIRouter(tags=["files"])


@router.get(
    "/files/{token}",
    response_class=FileResponse,
    responses={
        200: {"description": "The file", "content": {"application/octet-stream": {}}},
        **problem_responses(InvalidLink, LinkExpired, ObjectNotFound, ChecksumMismatch),
    },
)
async def download(token: str, request: Request) -> FileResponse:
    """A file behind a signed link from the local backend, after its signature, expiry and
    SHA-256 are checked. Links from S3, GCS or B2 point at those services instead."""
    storage: Storage = request.app.state.storage
    if not isinstance(storage, LocalStorage):
        raise ObjectNotFound("Files are not served from here: the storage backend is remote.")
    claims = storage.claims(token)
    stored, path = await asyncio.to_thread(storage.verified_path, claims.key, claims.version)
    return FileResponse(
        path,
        media_type=stored.content_type,
        headers={
            "Content-Disposition": content_disposition(claims.filename or filename_of(stored.key)),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "ETag": f'"{stored.sha256}"',
        },
    )
