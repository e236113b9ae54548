"""`gigforge scan`: scan job sources now, with progress."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from gigforge.accounts.operator_service import operator
from gigforge.cli_support import build_app, fail, freeze_startup_heap
from gigforge.connections.context import IntegrationContext
from gigforge.kit.console import print_listing
from gigforge.kit.db import unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.opportunities.scanning import Scanner, ScanReport, sources_of

console = Console(soft_wrap=True)


async def _close(app: FastAPI) -> None:
    """Finish background writes (quota notices), then close the database."""
    await app.state.quota_notices.drain()
    await app.state.database.dispose()


def scan(
    source: Annotated[str | None, typer.Option(help="Only this integration, e.g. upwork")] = None,
    user: Annotated[str | None, typer.Option(help="Scan for this account's email")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="No progress; print the summary as a JSON array")
    ] = False,
) -> None:
    """Scan your sources now: progress per source, then a summary. A failing source is
    reported and the others still run."""
    app = build_app()
    context: IntegrationContext = app.state.integrations
    freeze_startup_heap()

    async def main() -> list[ScanReport]:
        async with unit_of_work(context.database) as session:
            principal = await operator.principal_for(session, user)
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
            disable=as_json,
        ) as progress:
            for connection in sources:
                task = progress.add_task(
                    f"{connection.integration} ({connection.name})", total=None
                )

                def advance(seen: int, task: TaskID = task) -> None:
                    progress.update(task, completed=seen)

                reports.append(await scanner.scan(connection.id, progress=advance))
                progress.update(task, total=reports[-1].seen, completed=reports[-1].seen)
        await _close(app)
        return reports

    try:
        reports = asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    print_listing(
        console,
        headers=("source", "new", "updated", "duplicates", "skipped", "result"),
        records=[_scanned(report) for report in reports],
        row=lambda record: (
            f"{record['integration']} ({record['name']})",
            str(record["new"]),
            str(record["updated"]),
            str(record["duplicates"]),
            str(record["skipped"]),
            Text(record["error"], style="red") if record["error"] else "ok",
        ),
        as_json=as_json,
    )


def _scanned(report: ScanReport) -> dict[str, Any]:
    return {
        "connection_id": str(report.connection_id),
        "integration": report.integration,
        "name": report.name,
        "new": report.found,
        "updated": report.updated,
        "duplicates": report.duplicates,
        "skipped": report.skipped,
        "error": report.error,
    }
