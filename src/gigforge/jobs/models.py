"""Job tables. A job is won work; its tasks are done by agents; their files are deliverables.

Deliverables are versioned per task: each round of a task (its first run, each retry or
revision) writes version n+1, fixed when the round is claimed, so a run repeated after a crash
writes the same version and the unique key keeps one row per file. The feedback that caused a
round is kept on the round's revision row and on its deliverables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.jobs.states import JobStatus, TaskStatus
from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin, TimestampMixin

Money = BigInteger().with_variant(Integer, "sqlite")


def _enum(kind: type[JobStatus] | type[TaskStatus]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_user_status", "user_id", "status"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    opportunity_id: Mapped[uuid.UUID | None]
    platform: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # award, marked_won, alert
    external_project_id: Mapped[str | None] = mapped_column(String(100))
    external_bid_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))
    client_name: Mapped[str | None] = mapped_column(String(200))
    budget_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    deadline: Mapped[datetime | None]
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus), default=JobStatus.pending)
    quality_threshold: Mapped[float] = mapped_column(Float, default=4.0)
    autonomous: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=0)
    accepted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    #: Why the job is stuck where it is (an award the platform would not accept), for the user.
    note: Mapped[str | None] = mapped_column(String(500))


class JobTask(IdMixin, TimestampMixin, Base):
    __tablename__ = "job_tasks"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    requirements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.queued)
    #: The deliverable version the current round writes (fixed when the round is queued).
    version: Mapped[int] = mapped_column(default=1)
    #: Feedback the current round works from (the judges' on a retry, the user's on a revision).
    feedback: Mapped[str | None] = mapped_column(Text)
    runs: Mapped[int] = mapped_column(default=0)  # claims of the current round (crash reruns)
    attempts: Mapped[int] = mapped_column(default=0)  # agent attempts the gate made last round
    quality_score: Mapped[float | None] = mapped_column(Float)
    disagreement: Mapped[float | None] = mapped_column(Float)
    judge_reasons: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # checks, samples, steps
    cost_micro_usd: Mapped[int] = mapped_column(Money, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    claimed_until: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Deliverable(IdMixin, Base):
    __tablename__ = "deliverables"
    __table_args__ = (UniqueConstraint("task_id", "version", "name"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("job_tasks.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int]
    revision: Mapped[int]  # the job's revision round this version was made in
    name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Money)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    storage_version: Mapped[str | None] = mapped_column(String(200))
    preview: Mapped[str] = mapped_column(Text, default="")  # the first lines of a text file
    quality_score: Mapped[float | None] = mapped_column(Float)
    feedback: Mapped[str | None] = mapped_column(Text)  # what this version answered
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRevision(IdMixin, Base):
    """One round of the job: 0 is the first; each revision request opens the next."""

    __tablename__ = "job_revisions"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    feedback: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobDelivery(IdMixin, Base):
    """Sending one round's work to the client, once: unique per (job, revision)."""

    __tablename__ = "job_deliveries"
    __table_args__ = (UniqueConstraint("job_id", "revision"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID]
    revision: Mapped[int]
    channel: Mapped[str] = mapped_column(String(40))  # freelancer_message or hand_off
    status: Mapped[str] = mapped_column(String(20))  # sending, sent, handed_off, failed
    message: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(40))  # carried in the message, to reconcile
    package_key: Mapped[str | None] = mapped_column(String(500))
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AwardCheck(Base):
    """Where reading a marketplace connection's awards got to (its cursor), and when."""

    __tablename__ = "award_checks"

    connection_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    cursor: Mapped[str | None] = mapped_column(String(500))
    checked_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))


class JobMessage(IdMixin, Base):
    """One message in the conversation with the job's client: read from the platform ("in",
    or "out" when the user wrote it there), or drafted here and sent once the user approved it.

    A received message is unique per (job, external id), so reading a thread twice keeps one
    row; a sent one gets the platform's id when it is recorded, which a later read then finds.
    """

    __tablename__ = "job_messages"
    __table_args__ = (UniqueConstraint("job_id", "external_id"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID]
    direction: Mapped[str] = mapped_column(String(3))  # in (the client's), out (ours)
    #: received (in); draft, approved, sending, sent or failed (out; sent when read back too).
    status: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    external_thread_id: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
