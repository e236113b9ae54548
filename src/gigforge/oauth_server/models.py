"""Tables of the authorization server: registered apps, grants (one consent and the token
family it starts), authorization codes and issued tokens. Secrets and tokens are stored only
as SHA-256 hashes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin, TimestampMixin


class ClientType(StrEnum):
    confidential = "confidential"
    public = "public"


class OAuthApp(IdMixin, TimestampMixin, Base):
    """A third-party app a user registered (RFC 6749 client)."""

    __tablename__ = "oauth_apps"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    client_type: Mapped[ClientType] = mapped_column(
        Enum(
            ClientType,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    secret_prefix: Mapped[str | None] = mapped_column(String(16))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON)


class OAuthGrant(IdMixin, Base):
    """One consent: the user let the app act with these scopes. Every token descends from
    one grant, and revoking the grant (by the user, or on refresh token reuse) ends them all."""

    __tablename__ = "oauth_grants"

    app_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))


class OAuthCode(IdMixin, Base):
    """An authorization code: single use, short-lived, bound to its app, redirect URI and PKCE
    challenge. A used code is kept until it expires so that a replay revokes its grant."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthToken(IdMixin, Base):
    """An access token and the refresh token issued with it. Refreshing rotates: the old
    refresh token is marked used, and presenting it again revokes the whole grant."""

    __tablename__ = "oauth_tokens"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("oauth_grants.id", ondelete="CASCADE"), index=True
    )
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    refresh_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
