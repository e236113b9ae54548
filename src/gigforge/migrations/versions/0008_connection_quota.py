"""connection quota notices

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 12:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "connections", sa.Column("quota_reached_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("connections", sa.Column("quota_limit", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("quota_limit")
        batch.drop_column("quota_reached_until")
