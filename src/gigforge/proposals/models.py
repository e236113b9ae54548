"""Proposal tables. A proposal's state is the unit of work the submitter acts on."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Enum, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin, TimestampMixin

Money = BigInteger().with_variant(Integer, "sqlite")


class ProposalStatus(StrEnum):
    draft = "draft"
    approved = "approved"
    submitting = "submitting"
    submitted = "submitted"
    handed_off = "handed_off"
    failed = "failed"
    withdrawn = "withdrawn"
    won = "won"  # the client chose it: a job carries the work on (see gigforge.jobs)


class Proposal(IdMixin, TimestampMixin, Base):
    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_status_due", "status", "due_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    opportunity_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(40))
    status: Mapped[ProposalStatus] = mapped_column(
        Enum(
            ProposalStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=ProposalStatus.draft,
    )
    amount_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    period_days: Mapped[int | None]
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    auto_approved: Mapped[bool] = mapped_column(default=False)
    approved_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(500))


class ProposalVersion(IdMixin, Base):
    __tablename__ = "proposal_versions"

    proposal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(120))  # "user" or "<integration>:<model>"
    not_ai: Mapped[bool] = mapped_column(default=False)
    cost_micro_usd: Mapped[int] = mapped_column(Money, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutoApproveRule(Base):
    """The only way anything is submitted without the user pressing approve: capped."""

    __tablename__ = "auto_approve_rules"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    max_budget_minor: Mapped[int] = mapped_column(Money, default=0)
    min_score: Mapped[float] = mapped_column(Float, default=0.9)
    max_per_day: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
