"""AI spend reserved per user and month, so budgets hold across processes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MicroUSD = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ai_spend_months",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("spent_micro_usd", MicroUSD, nullable=False),
        sa.Column("reserved_micro_usd", MicroUSD, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ai_spend_months_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "month", name=op.f("pk_ai_spend_months")),
    )
    op.create_table(
        "ai_spend_reservations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("amount_micro_usd", MicroUSD, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ai_spend_reservations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_spend_reservations")),
    )
    with op.batch_alter_table("ai_spend_reservations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ai_spend_reservations_user_expires", ["user_id", "expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ai_spend_reservations", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_spend_reservations_user_expires")
    op.drop_table("ai_spend_reservations")
    op.drop_table("ai_spend_months")
