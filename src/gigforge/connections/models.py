"""Connection tables: the vault's encrypted secrets, connections and OAuth flows in flight."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin, TimestampMixin


@dataclass(frozen=True)
class Envelope:
    """The encrypted part of a stored secret, kept together so it is always replaced whole."""

    kek_id: str
    wrapped_dek: bytes
    dek_nonce: bytes
    nonce: bytes
    ciphertext: bytes


class VaultSecret(IdMixin, TimestampMixin, Base):
    """One secret, encrypted under its own data key; the scheme is in gigforge.connections.vault.

    A null `user_id` marks a secret of the server itself rather than of one user.
    """

    __tablename__ = "vault_secrets"

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(64))
    kek_id: Mapped[str] = mapped_column(String(16), index=True)
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    dek_nonce: Mapped[bytes] = mapped_column(LargeBinary)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)

    @property
    def envelope(self) -> Envelope:
        return Envelope(
            kek_id=self.kek_id,
            wrapped_dek=self.wrapped_dek,
            dek_nonce=self.dek_nonce,
            nonce=self.nonce,
            ciphertext=self.ciphertext,
        )

    def store(self, envelope: Envelope) -> None:
        self.kek_id = envelope.kek_id
        self.wrapped_dek = envelope.wrapped_dek
        self.dek_nonce = envelope.dek_nonce
        self.nonce = envelope.nonce
        self.ciphertext = envelope.ciphertext


class ConnectionStatus(StrEnum):
    active = "active"
    disabled = "disabled"
    needs_reauth = "needs_reauth"


class Connection(IdMixin, TimestampMixin, Base):
    """A user's account at one integration: non-secret config here, secrets in the vault."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("user_id", "integration", "name"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    auth_mode: Mapped[str] = mapped_column(String(40))
    status: Mapped[ConnectionStatus] = mapped_column(
        Enum(
            ConnectionStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=ConnectionStatus.active,
    )
    priority: Mapped[int] = mapped_column(default=100)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    base_url: Mapped[str | None] = mapped_column(String(500))
    secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("vault_secrets.id", ondelete="SET NULL")
    )
    token_expires_at: Mapped[datetime | None]
    last_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Set when a whole quota window was spent: the dashboard says so until it resets.
    quota_reached_until: Mapped[datetime | None]
    quota_limit: Mapped[str | None] = mapped_column(String(60))


class OAuthState(IdMixin, Base):
    """An authorization in flight: binds the `state` we sent to the user and PKCE verifier."""

    __tablename__ = "oauth_states"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(String(64))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    verifier_secret_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vault_secrets.id", ondelete="CASCADE")
    )
    redirect_uri: Mapped[str] = mapped_column(String(500))
    connection_name: Mapped[str] = mapped_column(String(100))
    base_url: Mapped[str | None] = mapped_column(String(500))
    # SHA-256 of the nonce in the starting browser's cookie (or held by the CLI process):
    # the callback must present it, so a victim cannot finish an attacker's flow.
    nonce_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
