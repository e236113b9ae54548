"""What every model call cost, and answers kept for identical requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin

MicroUSD = BigInteger().with_variant(Integer, "sqlite")


class AIUsage(IdMixin, Base):
    """One answered request: who asked, for what task, which model answered, cost, latency."""

    __tablename__ = "ai_usage"
    __table_args__ = (Index("ix_ai_usage_user_created", "user_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(20))
    integration: Mapped[str] = mapped_column(String(64))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL")
    )
    model: Mapped[str] = mapped_column(String(100))
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    cost_micro_usd: Mapped[int] = mapped_column(MicroUSD)
    latency_ms: Mapped[int]
    cached: Mapped[bool] = mapped_column(default=False)
    skipped: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AICacheEntry(Base):
    """An answer to a request already made (after masking), reused while it is fresh."""

    __tablename__ = "ai_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    integration: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(String)
    prompt_tokens: Mapped[int]
    completion_tokens: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AISpendMonth(Base):
    """A user's AI spend in one month, the authority every process checks its budget against.

    `reserved_micro_usd` is what calls under way may still cost (each holds an
    `AISpendReservation`); `spent_micro_usd` what answered calls did cost. A reservation is an
    UPDATE that refuses when spent plus reserved would pass the monthly budget, so the budget
    holds however many processes spend at once.
    """

    __tablename__ = "ai_spend_months"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_micro_usd: Mapped[int] = mapped_column(MicroUSD, default=0)
    reserved_micro_usd: Mapped[int] = mapped_column(MicroUSD, default=0)


class AISpendReservation(IdMixin, Base):
    """What one call under way may cost, held until its usage is recorded or it expires (the
    process that made it died), when the next reservation of the user releases it."""

    __tablename__ = "ai_spend_reservations"
    __table_args__ = (Index("ix_ai_spend_reservations_user_expires", "user_id", "expires_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)
    amount_micro_usd: Mapped[int] = mapped_column(MicroUSD)
    expires_at: Mapped[datetime]
