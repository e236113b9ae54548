from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gigforge.kit.db import Base
from gigforge.migrations import import_models

import_models()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through gigforge.migrations.upgrade (gigforge migrate)")
_run(connection)
