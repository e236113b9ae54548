"""Alembic migrations, run in-process by `gigforge migrate` and at `gigforge serve`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent


def import_models() -> None:
    """Import every domain's tables so Base.metadata is complete."""
    import gigforge.accounts.models
    import gigforge.ai.models
    import gigforge.audit.models
    import gigforge.certifications.models
    import gigforge.connections.models
    import gigforge.jobs.models
    import gigforge.kit.outbox
    import gigforge.kit.schedules
    import gigforge.kit.tasks
    import gigforge.ledger.models
    import gigforge.oauth_server.models
    import gigforge.opportunities.models
    import gigforge.payments.models
    import gigforge.proposals.models
    import gigforge.sync.models
    import gigforge.webhooks.models  # noqa: F401


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
