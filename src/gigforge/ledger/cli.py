"""`gigforge ledger`: prove the books balance."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from gigforge.cli_support import fail, migrate
from gigforge.kit.db import Database, unit_of_work
from gigforge.ledger.service import ledger
from gigforge.settings import ConfigurationError, load_settings

ledger_app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)
console = Console(soft_wrap=True)


@ledger_app.command("verify")
def verify(
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing when it is clean")] = False,
) -> None:
    """Check every kept balance against the sum of its postings, that every transaction sums
    to zero per currency, that no balance that may not go negative did, and that reserved
    money equals the pending holds. Exits 1 with the differences when anything is off."""
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), code=2) from None

    async def main() -> list[str]:
        database = Database.from_url(settings.effective_database_url)
        try:
            await migrate(database)
            async with unit_of_work(database) as session:
                report = await ledger.verify(session)
            if not quiet or not report.clean:
                console.print(f"{report.accounts} accounts checked")
            return report.problems()
        finally:
            await database.dispose()

    problems = asyncio.run(main())
    if problems:
        for line in problems:
            console.print(line, markup=False)
        raise fail(f"the ledger does not balance: {len(problems)} problem(s)")
    if not quiet:
        console.print(
            "The ledger balances: every transaction sums to zero and every balance "
            "equals its postings."
        )
