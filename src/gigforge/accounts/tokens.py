"""Access tokens (JWT, HS256 pinned) and opaque tokens (refresh, reset, API keys)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import jwt

from gigforge.accounts.errors import InvalidToken
from gigforge.kit.clock import utcnow
from gigforge.settings import Settings

ALGORITHM = "HS256"
ISSUER = "gigforge"
AUDIENCE = "gigforge-api"

API_KEY_PREFIX = "gf_"
REFRESH_TOKEN_PREFIX = "gfr_"  # noqa: S105 - a public prefix
RESET_TOKEN_PREFIX = "gfp_"  # noqa: S105 - a public prefix


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime


def issue_access_token(
    settings: Settings, *, user_id: uuid.UUID, session_id: uuid.UUID, scopes: Iterable[str]
) -> tuple[str, int]:
    now = utcnow()
    lifetime = int(settings.access_token_ttl.total_seconds())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "sid": str(session_id),
        "scope": " ".join(sorted(scopes)),
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + lifetime,
    }
    return jwt.encode(claims, settings.signing_key, algorithm=ALGORITHM), lifetime


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.signing_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["sub", "sid", "scope", "jti", "exp", "iat"]},
        )
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            session_id=uuid.UUID(claims["sid"]),
            scopes=frozenset(str(claims["scope"]).split()),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=utcnow().tzinfo),
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken() from exc


def new_opaque_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_opaque_token(token: str) -> str:
    """High-entropy tokens need no slow hash; SHA-256 makes the stored copy useless to a reader."""
    return hashlib.sha256(token.encode()).hexdigest()
