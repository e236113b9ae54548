"""`gigforge webhooks`: endpoints, secrets, test messages, the attempt log, resends and
recovery. Commands act as `--user EMAIL` (or the server's only account), like the dashboard.

`test` sends at once from this process and prints the attempt; `resend` and `recover` queue
the messages for the server's (or a worker's) delivery runs.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.operator_service import operator
from gigforge.accounts.principal import Principal
from gigforge.cli_support import fail, migrate
from gigforge.connections.vault import Keyring, keyring_from_settings
from gigforge.kit.console import print_listing
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import MAX_PAGE_SIZE, PageParams
from gigforge.kit.ssrf import AddressGuard
from gigforge.settings import ConfigurationError, Settings, load_settings
from gigforge.webhooks.delivery import Deliverer
from gigforge.webhooks.schemas import AttemptRead, EndpointCreate, EndpointRead
from gigforge.webhooks.sending import WebhookSender
from gigforge.webhooks.service import webhooks as webhook_service

T = TypeVar("T")

webhooks_app = typer.Typer(
    help="Outbound webhooks: endpoints, secrets, test messages, attempts, resend, recover.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

UserOption = Annotated[
    str | None, typer.Option("--user", help="Act as this account (default: the only one)")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]
Work = Callable[[AsyncSession, Principal, "Tools"], Awaitable[T]]


class Tools:
    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.keyring: Keyring = keyring_from_settings(settings)
        self.guard = AddressGuard(allowed=settings.allowed_private_hosts)


def _run(
    user: str | None, work: Work[T], after: Callable[[Tools], Awaitable[None]] | None = None
) -> T:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        raise fail(str(exc), code=2) from None

    async def main() -> T:
        database = Database.from_url(settings.effective_database_url)
        tools = Tools(settings, database)
        try:
            await migrate(database)
            async with unit_of_work(database) as session:
                principal = await operator.principal_for(session, user)
                result = await work(session, principal, tools)
            if after is not None:
                await after(tools)
            return result
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None


def _uuid(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise fail(f"not {what}: {raw!r}") from None


def _print_endpoints(records: list[dict[str, object]], as_json: bool) -> None:
    print_listing(
        console,
        headers=("id", "url", "events", "enabled", "description"),
        records=records,
        row=lambda record: (
            str(record["id"]),
            str(record["url"]),
            ", ".join(record["event_types"]) or "all",
            "yes" if record["enabled"] else f"no ({record['disabled_reason']})",
            str(record["description"]),
        ),
        as_json=as_json,
    )


@webhooks_app.command("list")
def list_endpoints(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your webhook endpoints."""

    async def work(
        session: AsyncSession, principal: Principal, tools: Tools
    ) -> list[dict[str, object]]:
        rows, _ = await webhook_service.list(
            session, principal, page=PageParams(limit=MAX_PAGE_SIZE, offset=0)
        )
        return [EndpointRead.model_validate(row).model_dump(mode="json") for row in rows]

    _print_endpoints(_run(user, work), as_json)


@webhooks_app.command("add")
def add_endpoint(
    url: Annotated[str, typer.Argument(help="Where to POST events")],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type or family (proposal.*); repeat it"),
    ] = None,
    description: Annotated[str, typer.Option(help="A name for the endpoint")] = "",
    rate_limit: Annotated[int | None, typer.Option(help="Most deliveries a second")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an endpoint and print its signing secret (shown only this once)."""

    async def work(session: AsyncSession, principal: Principal, tools: Tools) -> dict[str, object]:
        endpoint, secret = await webhook_service.create(
            session,
            principal,
            data=EndpointCreate(
                url=url, description=description, event_types=event or [], rate_limit=rate_limit
            ),
            keyring=tools.keyring,
            guard=tools.guard,
        )
        return {**EndpointRead.model_validate(endpoint).model_dump(mode="json"), "secret": secret}

    created = _run(user, work)
    if as_json:
        console.file.write(json.dumps(created, indent=2) + "\n")
        return
    console.print(f"Endpoint {created['id']} added for {created['url']}", highlight=False)
    console.print(f"Signing secret (shown only now): {created['secret']}", highlight=False)


@webhooks_app.command("rotate")
def rotate(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id")],
    user: UserOption = None,
) -> None:
    """A new signing secret; the old one keeps working for 24 hours."""
    parsed = _uuid(endpoint_id, "an endpoint id")

    async def work(session: AsyncSession, principal: Principal, tools: Tools) -> str:
        _, secret = await webhook_service.rotate(
            session, principal, endpoint_id=parsed, keyring=tools.keyring
        )
        return secret

    secret = _run(user, work)
    console.print(f"New signing secret (shown only now): {secret}", highlight=False)
    console.print("The previous secret stays valid for 24 hours.", highlight=False)


def _attempt_rows(rows: list[dict[str, object]], as_json: bool) -> None:
    print_listing(
        console,
        headers=("when", "event", "webhook-id", "result", "ms", "response"),
        records=rows,
        row=lambda record: (
            str(record["attempted_at"]),
            str(record["event_type"]),
            str(record["msg_id"]),
            ("ok " if record["succeeded"] else "failed ")
            + " ".join(str(part) for part in (record["status_code"], record["error"]) if part),
            str(record["duration_ms"]),
            str(record["response_excerpt"]),
        ),
        as_json=as_json,
    )


@webhooks_app.command("test")
def send_test(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a `webhook.test` message now and print the attempt."""
    parsed = _uuid(endpoint_id, "an endpoint id")

    async def work(session: AsyncSession, principal: Principal, tools: Tools) -> Principal:
        await webhook_service.send_test(session, principal, endpoint_id=parsed)
        return principal

    async def deliver(tools: Tools) -> None:
        sender = WebhookSender(tools.guard)
        try:
            await Deliverer(tools.database, sender, tools.keyring).deliver(lanes=1)
        finally:
            await sender.close()

    _run(user, work, after=deliver)
    _print_attempts(user, parsed, 1, as_json)


def _print_attempts(user: str | None, endpoint_id: uuid.UUID, limit: int, as_json: bool) -> None:
    async def work(
        session: AsyncSession, principal: Principal, tools: Tools
    ) -> list[dict[str, object]]:
        rows, _ = await webhook_service.attempts(
            session, principal, endpoint_id=endpoint_id, before=None, limit=limit
        )
        return [AttemptRead.model_validate(row).model_dump(mode="json") for row in rows]

    _attempt_rows(_run(user, work), as_json)


@webhooks_app.command("attempts")
def attempts(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="How many, newest first")] = 20,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """The endpoint's attempt log, newest first."""
    _print_attempts(user, _uuid(endpoint_id, "an endpoint id"), limit, as_json)


@webhooks_app.command("resend")
def resend(
    event_id: Annotated[str, typer.Argument(help="The event's id")],
    endpoint: Annotated[str | None, typer.Option(help="Only to this endpoint id")] = None,
    user: UserOption = None,
) -> None:
    """Queue an event again, with the same webhook-id, for the endpoints it went to."""
    parsed = _uuid(event_id, "an event id")
    endpoint_id = _uuid(endpoint, "an endpoint id") if endpoint else None

    async def work(session: AsyncSession, principal: Principal, tools: Tools) -> int:
        rows = await webhook_service.resend(
            session, principal, event_id=parsed, endpoint_id=endpoint_id
        )
        return len(rows)

    count = _run(user, work)
    console.print(f"Queued again for {count} endpoint(s).", highlight=False)


@webhooks_app.command("recover")
def recover(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id")],
    since: Annotated[str, typer.Option(help="ISO 8601 time: resend what failed since then")],
    user: UserOption = None,
) -> None:
    """Queue again every message to the endpoint that failed since a time."""
    parsed = _uuid(endpoint_id, "an endpoint id")
    try:
        moment = datetime.fromisoformat(since)
    except ValueError:
        raise fail(f"not an ISO 8601 time: {since!r}") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    async def work(session: AsyncSession, principal: Principal, tools: Tools) -> int:
        return await webhook_service.recover(session, principal, endpoint_id=parsed, since=moment)

    count = _run(user, work)
    console.print(f"Queued again: {count} failed message(s).", highlight=False)
