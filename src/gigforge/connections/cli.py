"""`gigforge integrations`, `gigforge connect` and `gigforge test-integration`.

The commands build the same application context the server uses (so `GIGFORGE_SANDBOX=true`
connects to the in-process sandboxes) and act for one local user, chosen with `--user` or, on
a single-user server, the only account.
"""

from __future__ import annotations

import asyncio
import json
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import typer
from fastapi import FastAPI
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.operator_service import operator
from gigforge.cli_support import build_app, fail
from gigforge.connections.context import IntegrationContext
from gigforge.connections.repository import ConnectionRepository
from gigforge.connections.schemas import ConnectionCreate
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import AuthMode, IntegrationSpec
from gigforge.kit.console import print_listing
from gigforge.kit.db import unit_of_work
from gigforge.kit.errors import GigforgeError

T = TypeVar("T")

integrations_app = typer.Typer(help="The installed integrations.", no_args_is_help=True)
console = Console(soft_wrap=True)

CALLBACK_TIMEOUT_SECONDS = 300
CALLBACK_PAGE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\n\r\n"
    b"Gigforge received the authorization. You can close this tab.\n"
)


def _run(app: FastAPI, work: Callable[[AsyncSession, IntegrationContext], Awaitable[T]]) -> T:
    context: IntegrationContext = app.state.integrations

    async def main() -> T:
        try:
            async with unit_of_work(context.database) as session:
                return await work(session, context)
        finally:
            await context.database.dispose()

    try:
        return asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None


@integrations_app.command("list")
def list_integrations(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array")] = False,
) -> None:
    """Shipped integrations, their capabilities, authentication and limits; those that need an
    optional package say how to enable them."""
    registry = build_app().state.registry
    records = [_listed(spec) for spec in registry.specs()]
    records += [
        _listed(item.spec, how_to_enable=item.how_to_enable) for item in registry.unavailable()
    ]
    records.sort(key=lambda record: str(record["slug"]))
    print_listing(
        console,
        headers=("slug", "title", "capabilities", "auth", "rate limits", "available"),
        records=records,
        row=lambda record: (
            record["slug"],
            record["title"],
            ", ".join(record["capabilities"]),
            ", ".join(record["auth_modes"]),
            ", ".join(record["rate_limits"]) or "-",
            "yes" if record["available"] else f"no: {record['how_to_enable']}",
        ),
        as_json=as_json,
    )


def _listed(spec: IntegrationSpec, *, how_to_enable: str | None = None) -> dict[str, Any]:
    return {
        "slug": spec.slug,
        "title": spec.title,
        "capabilities": [str(capability) for capability in sorted(spec.capabilities)],
        "auth_modes": [str(mode) for mode in spec.auth_modes],
        "rate_limits": list(spec.rate_limits),
        "available": how_to_enable is None,
        "how_to_enable": how_to_enable,
    }


@integrations_app.command("show")
def show_integration(slug: str) -> None:
    """Everything an integration declares: endpoints, limits, terms, connect form."""
    app = build_app()
    try:
        entry = app.state.registry.get(slug).spec.catalog_entry()
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    console.print_json(json.dumps(entry, default=str))


def _prompt_config(schema: dict[str, Any], given: dict[str, str]) -> dict[str, Any]:
    """Ask for each field of the connect form not given with --set; secrets are not echoed."""
    values: dict[str, Any] = dict(given)
    required = set(schema.get("required", []))
    for name, field in schema.get("properties", {}).items():
        if name in values:
            continue
        secret = bool(field.get("writeOnly")) or field.get("format") == "password"
        if name not in required and not secret:
            continue
        label = field.get("title", name)
        values[name] = typer.prompt(label, hide_input=secret)
    return values


def _parse_sets(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise fail(f"--set takes key=value, got {pair!r}", code=2)
        values[key] = value
    return values


async def wait_for_callback(
    server_ready: Callable[[int], None] | None = None, *, port: int = 0
) -> dict[str, str]:
    """Serve one request on 127.0.0.1 and return its query (the provider's redirect)."""
    received: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode("latin-1")
        await reader.readuntil(b"\r\n\r\n")
        target = request_line.split(" ")[1] if request_line.count(" ") >= 2 else "/"
        query = {key: values[0] for key, values in parse_qs(urlsplit(target).query).items()}
        writer.write(CALLBACK_PAGE)
        await writer.drain()
        writer.close()
        if not received.done() and ("code" in query or "error" in query):
            received.set_result(query)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        if server_ready is not None:
            server_ready(server.sockets[0].getsockname()[1])
        return await asyncio.wait_for(received, CALLBACK_TIMEOUT_SECONDS)


def connect(
    slug: Annotated[str, typer.Argument(help="The integration, e.g. openai or upwork")],
    user: Annotated[str | None, typer.Option(help="Connect for this account's email")] = None,
    name: Annotated[str, typer.Option(help="A name for the connection")] = "default",
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="A config field as key=value")
    ] = None,
    base_url: Annotated[str | None, typer.Option(help="Another host for the same API")] = None,
    browser: Annotated[bool, typer.Option(help="Open the consent page in a browser")] = True,
) -> None:
    """Connect an account: paste its key, or authorize in the browser (OAuth)."""
    app = build_app()
    context: IntegrationContext = app.state.integrations
    try:
        spec = context.spec_for(slug)
    except GigforgeError as exc:
        raise fail(exc.detail) from None

    if AuthMode.oauth2_authorization_code in spec.auth_modes:
        _connect_oauth(app, slug=slug, user=user, name=name, browser=browser, base_url=base_url)
        return

    config = _prompt_config(spec.config_schema(), _parse_sets(set_ or []))

    async def work(session: AsyncSession, context: IntegrationContext) -> str:
        principal = await operator.principal_for(session, user)
        connection = await connection_service.create(
            session,
            principal,
            context=context,
            data=ConnectionCreate(integration=slug, name=name, config=config, base_url=base_url),
        )
        return f"connected {slug} as {connection.name!r} ({connection.id}); the test call passed"

    console.print(_run(app, work))


def _connect_oauth(
    app: FastAPI, *, slug: str, user: str | None, name: str, browser: bool, base_url: str | None
) -> None:
    context: IntegrationContext = app.state.integrations

    async def main() -> str:
        loop = asyncio.get_running_loop()
        port: asyncio.Future[int] = loop.create_future()
        waiting = asyncio.create_task(wait_for_callback(port.set_result))
        local_port = await port
        async with unit_of_work(context.database) as session:
            principal = await operator.principal_for(session, user)
            start = await connection_service.start_oauth(
                session,
                principal,
                context=context,
                slug=slug,
                name=name,
                local_callback_port=local_port,
                base_url=base_url,
            )
        console.print(f"Authorize Gigforge at {slug}:\n{start.authorize_url}")
        if browser:
            webbrowser.open(start.authorize_url)
        query = await waiting
        if "error" in query:
            raise GigforgeError(f"{slug} did not authorize: {query['error']}")
        # Bound like a browser flow: this process kept the nonce, and acts as the same user.
        async with unit_of_work(context.database) as session:
            connection = await connection_service.complete_oauth(
                session,
                replace(principal, ip="127.0.0.1"),
                context=context,
                slug=slug,
                code=query["code"],
                state=query.get("state", ""),
                nonce=start.nonce,
            )
        await context.database.dispose()
        return f"connected {slug} as {connection.name!r} ({connection.id})"

    try:
        console.print(asyncio.run(main()))
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    except TimeoutError:
        raise fail("no authorization arrived within 5 minutes") from None


def run_integration_test(
    slug: Annotated[str, typer.Argument(help="The integration to test")],
    user: Annotated[str | None, typer.Option(help="The account's email")] = None,
    name: Annotated[str, typer.Option(help="The connection's name")] = "default",
) -> None:
    """Run the integration's test call with a stored connection."""
    app = build_app()

    async def work(session: AsyncSession, context: IntegrationContext) -> dict[str, Any]:
        principal = await operator.principal_for(session, user)
        connection = await ConnectionRepository(session).named(principal.user_id, slug, name)
        if connection is None:
            raise GigforgeError(f"no {slug} connection named {name!r}; run gigforge connect")
        return await connection_service.test(
            session, principal, context=context, connection_id=connection.id
        )

    details = _run(app, work)
    console.print(f"{slug} ({name}): ok")
    console.print_json(json.dumps(details, default=str))
