"""Signed download links for the local backend: `/files/<token>`, checked by this app.

The token carries the key, the version, the download name and the expiry, and an HMAC-SHA256
over them with a key derived from the app's secret key, so a link can be neither forged nor
stretched. It names no user: like an S3 presigned URL, holding it is the permission.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from gigforge.storage.errors import InvalidLink, LinkExpired
from gigforge.storage.keys import validate_key

_CONTEXT = b"gigforge.storage.download-link.v1"
MAX_TOKEN_CHARS = 4096


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkClaims:
    key: str
    version: str | None
    expires_at: datetime
    filename: str | None


class LinkSigner:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, claims: LinkClaims) -> str:
        body = {
            "k": claims.key,
            "v": claims.version,
            "e": int(claims.expires_at.timestamp()),
            "f": claims.filename,
        }
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, *, now: datetime) -> LinkClaims:
        """The link's claims when its signature holds and it has not expired."""
        payload, _, mac = token.partition(".")
        if not payload or not mac or len(token) > MAX_TOKEN_CHARS:
            raise InvalidLink("The link is incomplete.")
        # As bytes: compare_digest refuses a str with non-ASCII characters (a TypeError).
        if not hmac.compare_digest(self._mac(payload).encode(), mac.encode()):
            raise InvalidLink("The link's signature does not match.")
        try:
            body = json.loads(_unb64(payload))
            claims = LinkClaims(
                key=validate_key(str(body["k"])),
                version=None if body["v"] is None else str(body["v"]),
                expires_at=datetime.fromtimestamp(int(body["e"]), UTC),
                filename=None if body["f"] is None else str(body["f"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidLink("The link is malformed.") from None
        if now >= claims.expires_at:
            raise LinkExpired("The link has expired: ask for a new one.")
        return claims
