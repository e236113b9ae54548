"""Ledger tables: accounts with their kept balances, immutable transactions and their postings,
and holds.

An account is one user's money of one kind in one currency (and, for the outside world, one
provider). Its `balance_minor` is kept by every posting in the same statement that checks it,
so a read is one row and `gigforge ledger verify` can prove it equals the sum of the postings.
Transactions and postings are written once and never updated; a correction is a new
transaction. Accounts carry no foreign key to `users`: financial records outlive the account
that made them, and deleting a user must not delete one side of a transaction.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base
from gigforge.kit.ids import uuid7
from gigforge.ledger.kinds import AccountKind, HoldStatus, TransactionKind

Money = BigInteger().with_variant(Integer, "sqlite")


def _enum(kind: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "currency", "provider"),
        CheckConstraint("allow_negative OR balance_minor >= 0", name="no_overdraft"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[AccountKind] = mapped_column(_enum(AccountKind))
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(40), default="")
    allow_negative: Mapped[bool] = mapped_column(default=False)
    balance_minor: Mapped[int] = mapped_column(Money, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_ledger_transactions_user_id_id", "user_id", "id"),
    )

    #: UUIDv7: ordered by time, so listing pages by id.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID]
    kind: Mapped[TransactionKind] = mapped_column(_enum(TransactionKind))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of what the transaction says: the same key with other content is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")
    reference_type: Mapped[str | None] = mapped_column(String(40))
    reference_id: Mapped[str | None] = mapped_column(String(100), index=True)
    hold_id: Mapped[uuid.UUID | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerPosting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (Index("ix_ledger_postings_account_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_transactions.id"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_minor: Mapped[int] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))


class LedgerHold(Base):
    __tablename__ = "ledger_holds"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Money)
    status: Mapped[HoldStatus] = mapped_column(_enum(HoldStatus), default=HoldStatus.pending)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200), default="")
    reserve_transaction_id: Mapped[uuid.UUID]
    settle_transaction_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]
