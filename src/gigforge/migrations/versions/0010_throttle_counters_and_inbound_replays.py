"""throttle counters counted before the work, and inbound signatures already seen

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_counters",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttle_counters")),
    )
    with op.batch_alter_table("throttle_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_throttle_counters_expires_at"), ["expires_at"], unique=False
        )
    # Failures recorded after the fact are replaced by the counters; they only matter for the
    # current quarter of an hour, so nothing worth keeping is lost.
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_key_created_at")
    op.drop_table("login_failures")

    op.create_table(
        "inbound_seen_signatures",
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["inbound_endpoints.id"],
            name=op.f("fk_inbound_seen_signatures_endpoint_id_inbound_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_seen_signatures")),
        sa.UniqueConstraint(
            "endpoint_id", "signature", name=op.f("uq_inbound_seen_signatures_endpoint_id")
        ),
    )
    with op.batch_alter_table("inbound_seen_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_seen_signatures_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_seen_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_seen_signatures_expires_at"))
    op.drop_table("inbound_seen_signatures")

    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_failures_key_created_at", ["key", "created_at"], unique=False
        )
    with op.batch_alter_table("throttle_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_throttle_counters_expires_at"))
    op.drop_table("throttle_counters")
