"""opportunities

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:56:07.515474
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opportunity_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column(
            "hourly_rate_minor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "min_budget_minor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("excluded_keywords", sa.JSON(), nullable=False),
        sa.Column("require_payment_verified", sa.Boolean(), nullable=False),
        sa.Column("min_client_rating", sa.Double(), nullable=True),
        sa.Column("excluded_countries", sa.JSON(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=True),
        sa.Column("outcomes_learned", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_opportunity_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_opportunity_profiles")),
    )
    op.create_table(
        "opportunities",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("platform", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("description_text", sa.Text(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("skills_text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=200), nullable=True),
        sa.Column("budget_kind", sa.String(length=10), nullable=True),
        sa.Column(
            "budget_min_minor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "budget_max_minor", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client", sa.JSON(), nullable=False),
        sa.Column("proposals_count", sa.Integer(), nullable=True),
        sa.Column("attribution", sa.JSON(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.BigInteger(), nullable=False),
        sa.Column("band0", sa.Integer(), nullable=False),
        sa.Column("band1", sa.Integer(), nullable=False),
        sa.Column("band2", sa.Integer(), nullable=False),
        sa.Column("band3", sa.Integer(), nullable=False),
        sa.Column("duplicate_of_id", sa.Uuid(), nullable=True),
        sa.Column("complexity_score", sa.Double(), nullable=False),
        sa.Column("success_probability", sa.Double(), nullable=False),
        sa.Column("estimated_hours", sa.Double(), nullable=False),
        sa.Column("fit_score", sa.Integer(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_opportunities_connection_id_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunities_duplicate_of_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_opportunities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint(
            "user_id", "platform", "external_id", name=op.f("uq_opportunities_user_id")
        ),
    )
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.create_index("ix_opportunities_user_band0", ["user_id", "band0"], unique=False)
        batch_op.create_index("ix_opportunities_user_band1", ["user_id", "band1"], unique=False)
        batch_op.create_index("ix_opportunities_user_band2", ["user_id", "band2"], unique=False)
        batch_op.create_index("ix_opportunities_user_band3", ["user_id", "band3"], unique=False)
        batch_op.create_index(
            "ix_opportunities_user_posted", ["user_id", "posted_at"], unique=False
        )
        batch_op.create_index(
            "ix_opportunities_user_probability", ["user_id", "success_probability"], unique=False
        )

    op.create_table(
        "opportunity_sources",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.String(length=500), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_found", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_opportunity_sources_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_opportunity_sources_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_opportunity_sources")),
    )
    with op.batch_alter_table("opportunity_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opportunity_sources_next_run_at"), ["next_run_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opportunity_sources_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opportunity_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_sources_user_id"))
        batch_op.drop_index(batch_op.f("ix_opportunity_sources_next_run_at"))

    op.drop_table("opportunity_sources")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_index("ix_opportunities_user_probability")
        batch_op.drop_index("ix_opportunities_user_posted")
        batch_op.drop_index("ix_opportunities_user_band3")
        batch_op.drop_index("ix_opportunities_user_band2")
        batch_op.drop_index("ix_opportunities_user_band1")
        batch_op.drop_index("ix_opportunities_user_band0")

    op.drop_table("opportunities")
    op.drop_table("opportunity_profiles")
