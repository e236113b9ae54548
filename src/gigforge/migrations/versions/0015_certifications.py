"""Certifications: exam attempts with their server-side draws, and the levels users hold

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "certification_attempts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("exam", "renewal", name="attemptkind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "in_progress",
                "passed",
                "failed",
                "expired",
                name="attemptstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("open_slot", sa.String(length=60), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pass_mark_percent", sa.Integer(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=True),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_certification_attempts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certification_attempts")),
        sa.UniqueConstraint("open_slot", name=op.f("uq_certification_attempts_open_slot")),
    )
    with op.batch_alter_table("certification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_certification_attempts_user_level_started",
            ["user_id", "level", "started_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_certification_attempts_status_deadline", ["status", "deadline_at"], unique=False
        )
    op.create_table(
        "certifications",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("earned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["certification_attempts.id"],
            name=op.f("fk_certifications_attempt_id_certification_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_certifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "level", name=op.f("pk_certifications")),
    )
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certifications_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("certifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certifications_expires_at"))
    op.drop_table("certifications")
    with op.batch_alter_table("certification_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_certification_attempts_status_deadline")
        batch_op.drop_index("ix_certification_attempts_user_level_started")
    op.drop_table("certification_attempts")
