"""Sync tables: the link between one of our records and the tool's, with the base of the
three-way merge; each scope's read cursor; and the conflicts shown to the user."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Base, IdMixin, TimestampMixin


class LinkState(enum.StrEnum):
    pending = "pending"  # not in the tool yet
    synced = "synced"
    conflict = "conflict"  # a field changed on both sides; waiting for the user
    error = "error"  # the last attempt failed; `last_error` says why
    tombstone = "tombstone"  # deleted on one side; never recreated, never synced again


def _enum(kind: type[enum.StrEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class SyncLink(IdMixin, TimestampMixin, Base):
    __tablename__ = "sync_links"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "local_id", name="uq_sync_links_local"),
        UniqueConstraint("connection_id", "kind", "remote_id", name="uq_sync_links_remote"),
        Index("ix_sync_links_user_state", "user_id", "state"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(20))
    local_id: Mapped[str] = mapped_column(String(100))
    remote_id: Mapped[str | None] = mapped_column(String(200))
    remote_url: Mapped[str | None] = mapped_column(String(2000))
    #: The field values both sides held at the last sync: the base of the three-way merge.
    base: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Fields with a conflict the user has not resolved: left alone until they do.
    open_conflicts: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[LinkState] = mapped_column(_enum(LinkState), default=LinkState.pending)
    last_error: Mapped[str | None] = mapped_column(String(500))
    remote_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
    tombstoned_at: Mapped[datetime | None]
    #: Which side deleted it (local or remote), for a tombstone.
    deleted_by: Mapped[str | None] = mapped_column(String(10))
    #: Bumped by every sync of the link: a sync that read an older version starts again.
    version: Mapped[int] = mapped_column(default=0)


class SyncCursor(Base):
    """Where reading a scope's changes (a CRM object type, a project's tasks) resumes."""

    __tablename__ = "sync_cursors"

    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    since: Mapped[datetime | None]
    cursor: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SyncConflict(IdMixin, Base):
    __tablename__ = "sync_conflicts"
    __table_args__ = (Index("ix_sync_conflicts_user_open", "user_id", "resolved_at"),)

    link_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sync_links.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(100))
    base_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    local_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    remote_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    #: local or remote: the side whose value the user kept.
    resolution: Mapped[str | None] = mapped_column(String(10))
