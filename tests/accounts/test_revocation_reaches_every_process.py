"""Authenticated reads skip the database while nothing changed, yet a sign-out, a password
change, a role change or a deactivation made through one process ends access on the very next
request in another: two app instances stand for two processes sharing one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from factories import DEFAULT_PASSWORD, Account, AppFactory, register

ME = "/api/v1/users/me"


@pytest.fixture
async def apps(app_factory: AppFactory) -> tuple[FastAPI, FastAPI]:
    """Both built before any row exists: on PostgreSQL each build resets the schema."""
    return await app_factory(), await app_factory()


@pytest.fixture
async def one(apps: tuple[FastAPI, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=apps[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def other(apps: tuple[FastAPI, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=apps[1])
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _signed_in_on_both(
    one: httpx.AsyncClient, other: httpx.AsyncClient, account: Account
) -> None:
    """The other process has checked (and cached) the sign-in before the change."""
    for client in (one, other, other):
        response = await client.get(ME, headers=account.headers)
        assert response.status_code == 200, response.text


async def _login(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    login = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_sign_out_in_one_process_ends_the_session_in_another(
    one: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    account = await register(one)
    await _signed_in_on_both(one, other, account)
    assert (await one.post("/api/v1/auth/logout", headers=account.headers)).status_code == 204
    assert (await other.get(ME, headers=account.headers)).status_code == 401


async def test_a_password_change_ends_other_sessions_in_every_process(
    one: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    account = await register(one)
    laptop = await _login(one, account)
    await _signed_in_on_both(one, other, account)
    changed = await one.patch(
        ME,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "a new long passphrase 9"},
        headers=laptop,
    )
    assert changed.status_code == 200, changed.text
    assert (await other.get(ME, headers=account.headers)).status_code == 401
    assert (await other.get(ME, headers=laptop)).status_code == 200


async def test_a_role_change_ends_the_sessions_in_every_process(
    one: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    admin = await register(one)
    member = await register(one)
    await _signed_in_on_both(one, other, member)
    promoted = await one.patch(
        f"/api/v1/users/{member.user_id}", json={"role": "admin"}, headers=admin.headers
    )
    assert promoted.status_code == 200, promoted.text
    assert (await other.get(ME, headers=member.headers)).status_code == 401


async def test_deactivation_ends_access_in_every_process(
    one: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    admin = await register(one)
    member = await register(one)
    await _signed_in_on_both(one, other, member)
    deactivated = await one.patch(
        f"/api/v1/users/{member.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    assert (await other.get(ME, headers=member.headers)).status_code == 401


async def test_a_repeated_read_on_sqlite_runs_no_query_until_something_commits(
    apps: tuple[FastAPI, FastAPI],
    one: httpx.AsyncClient,
    other: httpx.AsyncClient,
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL runs the one session query on every request")
    account = await register(one)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = apps[1].state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert (await other.get(ME, headers=account.headers)).status_code == 200
        checked = len(statements)
        assert checked >= 1
        for _ in range(3):
            me = await other.get(ME, headers=account.headers)
            assert me.json()["email"] == account.email
        assert len(statements) == checked
        renamed = await one.patch(ME, json={"full_name": "Ada King"}, headers=account.headers)
        assert renamed.status_code == 200
        again = await other.get(ME, headers=account.headers)
        assert again.json()["full_name"] == "Ada King"
        assert len(statements) > checked
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_a_cached_sign_in_still_writes_through_its_request(
    one: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    """The user a cached check hands out belongs to the request's unit of work."""
    account = await register(one)
    await _signed_in_on_both(one, other, account)
    renamed = await other.patch(ME, json={"full_name": "Ada Byron"}, headers=account.headers)
    assert renamed.status_code == 200, renamed.text
    assert (await one.get(ME, headers=account.headers)).json()["full_name"] == "Ada Byron"
    assert (await other.get(ME, headers=account.headers)).json()["full_name"] == "Ada Byron"


async def test_revoking_an_api_key_in_one_process_ends_it_in_another(
    one: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    account = await register(one)
    created = await one.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["users:read"]}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    for _ in range(3):
        assert (await other.get(ME, headers=key)).status_code == 200
    revoked = await one.delete(f"/api/v1/api-keys/{created.json()['id']}", headers=account.headers)
    assert revoked.status_code == 204, revoked.text
    assert (await other.get(ME, headers=key)).status_code == 401
