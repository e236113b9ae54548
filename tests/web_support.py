"""Helpers for dashboard tests over HTTP: the forms' CSRF token, signing in, a scanned source."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI

from factories import Account, connect_oauth
from gigforge.opportunities.scanning import Scanner

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, account: Account, *, next_path: str = ""
) -> httpx.Response:
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "email": account.email,
            "password": account.password,
            "csrf_token": csrf_of(page.text),
            "next": next_path,
        },
    )


async def connect_and_scan(
    app: FastAPI, client: httpx.AsyncClient, account: Account, integration: str = "upwork"
) -> uuid.UUID:
    """A real sandbox connection through the OAuth consent, then a scan, so pages show
    scored rows. Returns the connection's id."""
    connection_id = uuid.UUID(await connect_oauth(client, account, integration))
    report = await Scanner(app.state.integrations).scan(connection_id)
    assert report.found > 0
    return connection_id
