"""`gigforge apps`: third-party OAuth apps, for the account that registers them and for the
account that authorized them. Commands act as `--user EMAIL` (or the server's only account)
and are audited as that account, like the dashboard."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.cli_support import fail, run_as
from gigforge.kit.console import Record, print_listing
from gigforge.kit.pagination import MAX_PAGE_SIZE, PageParams
from gigforge.oauth_server.models import ClientType
from gigforge.oauth_server.schemas import GRANTABLE_SCOPES, AppCreate, AppCreated, AppRead
from gigforge.oauth_server.service import oauth_apps as oauth_app_service
from gigforge.oauth_server.service import oauth_server as oauth_server_service

T = TypeVar("T")

apps_app = typer.Typer(
    help="Third-party OAuth apps: register them, rotate secrets, see and revoke authorizations.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

UserOption = Annotated[
    str | None, typer.Option("--user", help="Act as this account (default: the only one)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
SCOPE_CHOICES = ", ".join(scope.value for scope in GRANTABLE_SCOPES)


_run = run_as


def _app_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise fail(f"not an app id: {raw!r} (see `gigforge apps list`)") from None


def _print_issued(issued: AppCreated, *, as_json: bool, rotated: bool = False) -> None:
    if as_json:
        console.file.write(json.dumps(issued.model_dump(mode="json"), indent=2) + "\n")
        return
    verb = "new secret for" if rotated else "registered"
    console.print(f"{verb} {issued.name} ({issued.id})", highlight=False)
    console.print(f"client_id:     {issued.client_id}", highlight=False)
    if issued.client_secret is not None:
        console.print(f"client_secret: {issued.client_secret}", highlight=False)
        console.print("the secret is shown only now; Gigforge keeps only its hash", highlight=False)
    else:
        console.print("a public app has no secret: it uses PKCE alone", highlight=False)


@apps_app.command("list")
def list_apps(user: UserOption = None, as_json: JsonOption = False) -> None:
    """List the apps this account registered."""

    async def work(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
        apps, _ = await oauth_app_service.list(
            session, principal, page=PageParams(limit=MAX_PAGE_SIZE, offset=0)
        )
        return [AppRead.model_validate(app).model_dump(mode="json") for app in apps]

    records = _run(user, work)
    if not records and not as_json:
        console.print("no apps; register one with `gigforge apps create`", highlight=False)
        return

    def row(record: Record) -> list[str]:
        return [
            record["id"],
            record["name"],
            record["client_id"],
            record["client_type"],
            " ".join(record["redirect_uris"]),
            " ".join(record["scopes"]),
        ]

    print_listing(
        console,
        headers=["ID", "Name", "Client ID", "Type", "Redirect URIs", "Scopes"],
        records=records,
        row=row,
        as_json=as_json,
    )


@apps_app.command("create")
def create_app(
    name: Annotated[str, typer.Argument(help="Shown to people asked to allow the app")],
    redirect_uri: Annotated[
        list[str], typer.Option("--redirect-uri", help="An exact redirect URI (repeatable)")
    ],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"A scope the app may ask for: {SCOPE_CHOICES}")
    ],
    public: Annotated[
        bool, typer.Option("--public", help="A public app (no secret; PKCE alone)")
    ] = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register an app; its client secret is printed once."""
    try:
        data = AppCreate(
            name=name,
            client_type=ClientType.public if public else ClientType.confidential,
            redirect_uris=redirect_uri,
            scopes=[Scope(value) for value in scope],
        )
    except ValueError as exc:
        raise fail(f"{str(exc).splitlines()[0]}; scopes are {SCOPE_CHOICES}", code=2) from None

    async def work(session: AsyncSession, principal: Principal) -> AppCreated:
        return await oauth_app_service.create(session, principal, data=data)

    _print_issued(_run(user, work), as_json=as_json)


@apps_app.command("rotate-secret")
def rotate_secret(
    app_id: Annotated[str, typer.Argument(help="The app's id")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace an app's client secret; the new one is printed once."""
    parsed = _app_id(app_id)

    async def work(session: AsyncSession, principal: Principal) -> AppCreated:
        return await oauth_app_service.rotate_secret(session, principal, app_id=parsed)

    _print_issued(_run(user, work), as_json=as_json, rotated=True)


@apps_app.command("delete")
def delete_app(
    app_id: Annotated[str, typer.Argument(help="The app's id")], user: UserOption = None
) -> None:
    """Delete an app; every token it holds stops working."""
    parsed = _app_id(app_id)

    async def work(session: AsyncSession, principal: Principal) -> str:
        await oauth_app_service.delete(session, principal, app_id=parsed)
        return f"deleted app {parsed}"

    console.print(_run(user, work), highlight=False)


@apps_app.command("authorizations")
def authorizations(
    revoke: Annotated[
        str | None, typer.Option("--revoke", help="Revoke the authorization of this app id")
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the apps this account authorized, or revoke one with --revoke APP_ID."""
    if revoke is not None:
        parsed = _app_id(revoke)

        async def take_back(session: AsyncSession, principal: Principal) -> str:
            await oauth_server_service.revoke_authorization(session, principal, app_id=parsed)
            return f"revoked app {parsed}: its tokens stop working now"

        console.print(_run(user, take_back), highlight=False)
        return

    async def work(session: AsyncSession, principal: Principal) -> list[dict[str, Any]]:
        listed = await oauth_server_service.authorizations(session, principal)
        return [item.model_dump(mode="json") for item in listed]

    records = _run(user, work)
    if not records and not as_json:
        console.print("no authorized apps", highlight=False)
        return

    def row(record: Record) -> list[str]:
        return [
            record["app_id"],
            record["app_name"],
            record["client_id"],
            " ".join(record["scopes"]),
            record["authorized_at"],
            record["last_used_at"] or "never",
        ]

    print_listing(
        console,
        headers=["App ID", "Name", "Client ID", "Scopes", "Authorized", "Last used"],
        records=records,
        row=row,
        as_json=as_json,
    )
