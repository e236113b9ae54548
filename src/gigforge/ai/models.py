"""What every model call cost, and answers kept for identical requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.db import Base, IdMixin
from gigforge.kit.clock import utcnow

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
