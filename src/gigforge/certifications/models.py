"""Certification tables: each exam attempt with its own draw, and each level a user holds."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.certifications.rules import AttemptKind
from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin


class AttemptStatus(StrEnum):
    in_progress = "in_progress"
    passed = "passed"
    failed = "failed"
    expired = "expired"


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class ExamAttempt(IdMixin, Base):
    """One sitting. `questions` is the server's record of the draw: each question id with its
    options' bank indexes in the order shown; nothing in it is ever sent as is."""

    __tablename__ = "certification_attempts"
    __table_args__ = (
        Index("ix_certification_attempts_user_level_started", "user_id", "level", "started_at"),
        Index("ix_certification_attempts_status_deadline", "status", "deadline_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(Integer)
    kind: Mapped[AttemptKind] = mapped_column(_enum(AttemptKind))
    status: Mapped[AttemptStatus] = mapped_column(
        _enum(AttemptStatus), default=AttemptStatus.in_progress
    )
    # "<user id>:<level>" while in progress, NULL after: at most one open attempt per level.
    open_slot: Mapped[str | None] = mapped_column(String(60), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    pass_mark_percent: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # After grading: per question, the module, the shown position chosen and whether it was right.
    outcomes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    correct: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)


class Certification(Base):
    """A level a user earned; active while `expires_at` is ahead. `expired_at` records that the
    expiry was noticed (and its event published) once."""

    __tablename__ = "certifications"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    earned_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    renewed_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certification_attempts.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
