"""What every command-line module needs from the process: settings, the app, a way to fail.

Domain `cli.py` modules are entry points that live beside their domain. They reach the app and
the migrations only through this module, so the layer contract (`make lint`) can tell them
apart from the domain code below them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.operator_service import operator
from gigforge.accounts.principal import Principal
from gigforge.app import freeze_startup_heap
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.settings import ConfigurationError, load_settings

__all__ = ["build_app", "fail", "freeze_startup_heap", "migrate", "run_as"]

T = TypeVar("T")

errors = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Say what went wrong on stderr and give the exit to raise."""
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


async def migrate(database: Database) -> None:
    """Bring the database to the newest schema."""
    from gigforge.migrations import upgrade

    await upgrade(database.engine)


def build_app() -> FastAPI:
    """The app built from the environment's settings, on a database migrated to the head."""
    from gigforge.migrations import upgrade

    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), code=2) from None
    from gigforge.app import create_app

    app = create_app(settings)
    asyncio.run(upgrade(app.state.database.engine))
    return app


def run_as(user: str | None, work: Callable[[AsyncSession, Principal], Awaitable[T]]) -> T:
    """`work(session, principal)` in one unit of work on the migrated database, as the account
    `user` names (or the server's only account); a refusal is a one-line error. Every domain's
    tasks are declared first: a command may enqueue one (the server's workers run it)."""
    from gigforge.worker import task_registry

    task_registry()
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), code=2) from None

    async def main() -> T:
        database = Database.from_url(settings.effective_database_url)
        try:
            await migrate(database)
            async with unit_of_work(database) as session:
                principal = await operator.principal_for(session, user)
                return await work(session, principal)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None
