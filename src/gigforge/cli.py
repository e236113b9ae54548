"""The `gigforge` command line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from gigforge import __version__
from gigforge.admin.cli import tasks_app
from gigforge.certifications.cli import certifications_app
from gigforge.connections.cli import connect, integrations_app, run_integration_test
from gigforge.jobs.cli import agents_app, jobs_app
from gigforge.kit.errors import GigforgeError
from gigforge.ledger.cli import ledger_app
from gigforge.oauth_server.cli import apps_app
from gigforge.opportunities.cli import scan
from gigforge.payments.cli import payments_app
from gigforge.settings import ConfigurationError, Settings, load_settings
from gigforge.storage.cli import storage_app
from gigforge.webhooks.cli import webhooks_app
from gigforge.worker import worker

T = TypeVar("T")

app = typer.Typer(
    help="Gigforge: operations hub for AI-assisted freelancing.", no_args_is_help=True
)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
audit_app = typer.Typer(help="Inspect the audit log.", no_args_is_help=True)
vault_app = typer.Typer(help="Manage the credential vault.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(integrations_app, name="integrations")
app.command("connect")(connect)
app.command("test-integration")(run_integration_test)
app.command("scan")(scan)
app.command("worker")(worker)
app.add_typer(audit_app, name="audit")
app.add_typer(vault_app, name="vault")
app.add_typer(tasks_app, name="tasks")
app.add_typer(apps_app, name="apps")
app.add_typer(storage_app, name="storage")
app.add_typer(certifications_app, name="certifications")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(jobs_app, name="jobs")
app.add_typer(agents_app, name="agents")
app.add_typer(ledger_app, name="ledger")
app.add_typer(payments_app, name="payments")

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigurationError as exc:
        raise _fail(str(exc), code=2) from None


def _with_database(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    """Run `work(session)` in one unit of work on a migrated database."""
    from gigforge.kit.db import Database, unit_of_work
    from gigforge.migrations import upgrade

    async def main() -> T:
        database = Database.from_url(settings.effective_database_url)
        try:
            await upgrade(database.engine)
            async with unit_of_work(database) as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except GigforgeError as exc:
        raise _fail(exc.detail) from None


@app.command()
def version() -> None:
    """Print the installed version."""
    console.print(f"gigforge {__version__}")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from gigforge.kit.db import Database
    from gigforge.migrations import upgrade

    settings = _settings()

    async def main() -> None:
        database = Database.from_url(settings.effective_database_url)
        try:
            await upgrade(database.engine)
        finally:
            await database.dispose()

    asyncio.run(main())
    console.print("database is up to date")


def _check_many_workers(settings: Settings, *, reload: bool) -> None:
    """Several API processes serve requests only. Background work belongs to `gigforge
    worker` processes (claims and the leader lease would keep N embedded workers correct,
    but N copies of the sweeper and scheduler is load for nothing), and a sandbox keeps its
    state in the one process that serves it."""
    if settings.embedded_worker:
        raise _fail(
            "--workers above 1 serves the API only: set GIGFORGE_EMBEDDED_WORKER=false and "
            "run `gigforge worker` for the background work (docs/deployment.md)"
        )
    if settings.sandbox:
        raise _fail("sandboxes keep their state in one process: serve them with --workers 1")
    if reload:
        raise _fail("--reload runs one process: leave out --workers")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development)")] = False,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Serve every integration's sandbox and use them")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help=(
                "API processes sharing the port; above 1 needs GIGFORGE_EMBEDDED_WORKER=false "
                "and `gigforge worker` processes for the background work"
            ),
        ),
    ] = 1,
) -> None:
    """Migrate the database, then serve the API and dashboard."""
    import os

    import uvicorn

    if sandbox:
        os.environ["GIGFORGE_SANDBOX"] = "true"
    settings = _settings()
    if workers > 1:
        _check_many_workers(settings, reload=reload)
    migrate()
    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    console.print(
        f"Gigforge {__version__} ({settings.env.value}) on http://{shown_host}:{port}/ "
        f"- API docs at http://{shown_host}:{port}/docs"
    )
    if settings.sandbox:
        console.print(
            f"Sandbox mode: integrations answer from http://{shown_host}:{port}/sandbox/<slug>; "
            "nothing leaves this machine"
        )
    uvicorn.run(
        "gigforge.app:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(prompt=True, help="Sign-in email")],
    full_name: Annotated[str, typer.Option(prompt=True, help="Display name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    admin: Annotated[bool, typer.Option("--admin", help="Give the account the admin role")] = False,
) -> None:
    """Create an account (the first account is always an admin)."""
    from pydantic import TypeAdapter, ValidationError
    from sqlalchemy.ext.asyncio import AsyncSession

    from gigforge.accounts.scopes import Role
    from gigforge.accounts.service import auth as auth_service
    from gigforge.kit.actor import SYSTEM

    try:
        from pydantic import EmailStr

        email = TypeAdapter(EmailStr).validate_python(email)
    except ValidationError:
        raise _fail(f"not a valid email address: {email!r}") from None
    settings = _settings()

    async def work(session: AsyncSession) -> str:
        user = await auth_service.create_user(
            session,
            SYSTEM,
            settings=settings,
            email=email,
            password=password,
            full_name=full_name,
            role=Role.admin if admin else None,
        )
        return f"created {user.role.value} {user.email} ({user.id})"

    console.print(_with_database(settings, work))


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit chain; names the first record that was changed or removed."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from gigforge.audit.service import VerifyResult
    from gigforge.audit.service import audit as audit_service

    async def work(session: AsyncSession) -> VerifyResult:
        return await audit_service.verify(session)

    result = _with_database(_settings(), work)
    if result.ok:
        console.print(f"audit log intact: {result.checked} records verified")
        return
    raise _fail(
        f"audit log broken at record {result.first_bad_seq}: {result.reason} "
        f"({result.checked} records before it verified)"
    )


@vault_app.command("rotate")
def vault_rotate(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Secrets re-encrypted per transaction")
    ] = 100,
) -> None:
    """Re-encrypt every stored secret under the current master key; safe to rerun or resume.

    Keep the old key in GIGFORGE_PREVIOUS_MASTER_KEYS while this runs.
    """
    from gigforge.connections.vault import RotationReport, keyring_from_settings
    from gigforge.connections.vault import vault as vault_service
    from gigforge.kit.db import Database
    from gigforge.migrations import upgrade

    settings = _settings()
    try:
        keyring = keyring_from_settings(settings)
    except ValueError as exc:
        raise _fail(str(exc), code=2) from None

    async def main() -> RotationReport:
        database = Database.from_url(settings.effective_database_url)
        try:
            await upgrade(database.engine)
            return await vault_service.rotate(database, keyring, batch_size=batch_size)
        finally:
            await database.dispose()

    try:
        report = asyncio.run(main())
    except GigforgeError as exc:
        raise _fail(exc.detail) from None
    retired = [
        f"{previous_id} (entry {position} of GIGFORGE_PREVIOUS_MASTER_KEYS)"
        for position, previous_id in enumerate(keyring.previous_ids, start=1)
        if previous_id in report.retired_keys
    ]
    console.print(
        f"re-encrypted {report.rotated} secrets under key {report.to_key}; "
        f"keys no longer needed: {', '.join(retired) or 'none'}",
        highlight=False,
    )
    if retired:
        console.print(
            "You can now remove the old key from GIGFORGE_PREVIOUS_MASTER_KEYS.", highlight=False
        )


@app.command()
def demo() -> None:
    """Run the whole loop headless against the sandboxes: scan, score, draft, approve, submit."""
    import os

    from gigforge.demo import run_demo
    from gigforge.migrations import upgrade

    settings = _settings(
        sandbox=True,
        embedded_worker=False,
        log_level=os.environ.get("GIGFORGE_LOG_LEVEL", "WARNING"),
    )
    from gigforge.app import create_app

    async def main() -> None:
        application = create_app(settings)
        await upgrade(application.state.database.engine)
        try:
            await run_demo(application, console.print)
        finally:
            await application.state.database.dispose()

    try:
        asyncio.run(main())
    except GigforgeError as exc:
        raise _fail(exc.detail) from None


def main() -> None:
    app()
