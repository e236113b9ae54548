"""inbound endpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 11:00:55.683001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_endpoints",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("secret_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["secret_id"],
            ["vault_secrets.id"],
            name=op.f("fk_inbound_endpoints_secret_id_vault_secrets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_inbound_endpoints_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_endpoints")),
    )
    with op.batch_alter_table("inbound_endpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_endpoints_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_endpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_endpoints_user_id"))

    op.drop_table("inbound_endpoints")
