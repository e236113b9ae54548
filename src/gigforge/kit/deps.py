"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.kit.actor import Actor
from gigforge.kit.db import Database, unit_of_work
from gigforge.settings import Settings

# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in its thread pool, a thread hop per request for reading an attribute.


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    return _settings(request)


async def get_database(request: Request) -> Database:
    return _database(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed after the endpoint returns, before the response."""
    async with unit_of_work(_database(request)) as session:
        yield session


def client_ip(request: Request) -> str | None:
    """The caller's address, looking through as many proxies as the settings trust."""
    trusted = _settings(request).trusted_proxies
    if trusted:
        forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= trusted:
            return forwarded[-trusted][:64]
    return request.client.host if request.client else None


async def get_client(request: Request) -> Actor:
    return Actor(ip=client_ip(request))


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
ClientDep = Annotated[Actor, Depends(get_client)]
