"""Connection tables: the vault's encrypted secrets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.db import Base, IdMixin, TimestampMixin


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
