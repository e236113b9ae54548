"""`gigforge scan` (now, with progress) and `gigforge worker` (on schedule, forever)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gigforge.connections.cli import _app, _fail, _principal
from gigforge.connections.context import IntegrationContext
from gigforge.db import unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.opportunities.scanning import Scanner, ScanReport, sources_of
from gigforge.opportunities.scheduler import work_forever

console = Console(soft_wrap=True)


def scan(
    source: Annotated[str | None, typer.Option(help="Only this integration, e.g. upwork")] = None,
    user: Annotated[str | None, typer.Option(help="Scan for this account's email")] = None,
) -> None:
    """Scan your sources now: progress per source, then a summary. A failing source is
    reported and the others still run."""
    context: IntegrationContext = _app().state.integrations

    async def main() -> list[ScanReport]:
        async with unit_of_work(context.database) as session:
            principal = await _principal(session, user)
            sources = await sources_of(session, context, principal.user_id, source)
        if not sources:
            raise GigforgeError(
                "no active job sources"
                + (f" for {source}" if source else "")
                + "; connect one with gigforge connect"
            )
        scanner = Scanner(context)
        reports = []
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} postings"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            for connection in sources:
                task = progress.add_task(
                    f"{connection.integration} ({connection.name})", total=None
                )

                def advance(seen: int, task: TaskID = task) -> None:
                    progress.update(task, completed=seen)

                reports.append(await scanner.scan(connection.id, progress=advance))
                progress.update(task, total=reports[-1].seen, completed=reports[-1].seen)
        await context.database.dispose()
        return reports

    try:
        reports = asyncio.run(main())
    except GigforgeError as exc:
        raise _fail(exc.detail) from None
    table = Table("source", "new", "updated", "duplicates", "skipped", "result")
    for report in reports:
        table.add_row(
            f"{report.integration} ({report.name})",
            str(report.found),
            str(report.updated),
            str(report.duplicates),
            str(report.skipped),
            f"[red]{report.error}[/red]" if report.error else "ok",
        )
    console.print(table)


def worker() -> None:
    """Scan every due source on its schedule until stopped (SIGINT or SIGTERM)."""
    context: IntegrationContext = _app().state.integrations

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await work_forever(context, stop)
        await context.database.dispose()

    asyncio.run(main())
