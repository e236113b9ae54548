"""Opportunity tables: what was found, the user's matching profile, and each source's schedule."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin

Money = BigInteger().with_variant(Integer, "sqlite")


class Opportunity(IdMixin, Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        UniqueConstraint("user_id", "platform", "external_id"),
        Index("ix_opportunities_user_posted", "user_id", "posted_at"),
        Index("ix_opportunities_user_probability", "user_id", "success_probability"),
        Index("ix_opportunities_user_band0", "user_id", "band0"),
        Index("ix_opportunities_user_band1", "user_id", "band1"),
        Index("ix_opportunities_user_band2", "user_id", "band2"),
        Index("ix_opportunities_user_band3", "user_id", "band3"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("connections.id", ondelete="SET NULL")
    )
    platform: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    description_text: Mapped[str] = mapped_column(Text)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    # "|python|django|": skill filters as LIKE '%|python|%' work alike on SQLite and PostgreSQL.
    skills_text: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(200))
    budget_kind: Mapped[str | None] = mapped_column(String(10))
    budget_min_minor: Mapped[int | None] = mapped_column(Money)
    budget_max_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    posted_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    client: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    proposals_count: Mapped[int | None]
    attribution: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    fingerprint: Mapped[int] = mapped_column(BigInteger)
    band0: Mapped[int]
    band1: Mapped[int]
    band2: Mapped[int]
    band3: Mapped[int]
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("opportunities.id", ondelete="SET NULL")
    )

    complexity_score: Mapped[float]
    success_probability: Mapped[float]
    estimated_hours: Mapped[float]
    fit_score: Mapped[int]
    factors: Mapped[list[str]] = mapped_column(JSON, default=list)
    features: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)

    dismissed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(10))
    outcome_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OpportunityProfile(Base):
    """A user's matching preferences and the weights learned from their outcomes."""

    __tablename__ = "opportunity_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    hourly_rate_minor: Mapped[int | None] = mapped_column(Money)
    min_budget_minor: Mapped[int | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    require_payment_verified: Mapped[bool] = mapped_column(default=False)
    min_client_rating: Mapped[float | None]
    excluded_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    weights: Mapped[dict[str, float] | None] = mapped_column(JSON)
    outcomes_learned: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SourceSchedule(Base):
    """When a connection is next scanned, where its last scan stopped, and who holds it now."""

    __tablename__ = "opportunity_sources"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    interval_seconds: Mapped[int] = mapped_column(default=900)
    next_run_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    claimed_until: Mapped[datetime | None]
    cursor: Mapped[str | None] = mapped_column(String(500))
    # Where the next scan's search starts in time: the start of the last search read to its
    # end (an early stop keeps it, so the resume at `cursor` repeats the same search).
    last_run_at: Mapped[datetime | None]
    last_found: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class ScanSourceState(StrEnum):
    """Where one source of a "Scan now" run is; done, failed and busy are final."""

    waiting = "waiting"
    scanning = "scanning"
    done = "done"
    failed = "failed"
    busy = "busy"


FINAL_SCAN_STATES = (ScanSourceState.done, ScanSourceState.failed, ScanSourceState.busy)


class ScanRun(IdMixin, Base):
    """A user's "Scan now": the last one per user is kept (a new run replaces it), so any
    process can show its progress and the table holds one row per user at most."""

    __tablename__ = "scan_runs"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScanRunSource(Base):
    """One source of a scan run and how far its `opportunities.scan` task has come."""

    __tablename__ = "scan_run_sources"

    run_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scan_runs.id", ondelete="CASCADE"), primary_key=True
    )
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)
    integration: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    state: Mapped[ScanSourceState] = mapped_column(
        Enum(
            ScanSourceState,
            native_enum=False,
            length=16,
            values_callable=lambda states: [state.value for state in states],
        ),
        default=ScanSourceState.waiting,
    )
    seen: Mapped[int] = mapped_column(default=0)
    found: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class InboundEndpoint(IdMixin, Base):
    """A signed door for automation services (Zapier, IFTTT, Make) to hand in listings."""

    __tablename__ = "inbound_endpoints"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(40))
    secret_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vault_secrets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class InboundSeenSignature(IdMixin, Base):
    """A signed inbound request already taken, kept while its signature could still verify:
    the same request sent again inside that window is a replay and is refused."""

    __tablename__ = "inbound_seen_signatures"
    __table_args__ = (UniqueConstraint("endpoint_id", "signature"),)

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inbound_endpoints.id", ondelete="CASCADE")
    )
    signature: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
