"""oauth flows bound to the browser that started them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: a flow started before this revision has no nonce and is refused at its callback;
    # flows live ten minutes, so the user simply starts again.
    op.add_column("oauth_states", sa.Column("nonce_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_states") as batch:
        batch.drop_column("nonce_hash")
