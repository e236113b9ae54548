"""Fixtures: a migrated database per test (SQLite always, PostgreSQL when configured), the app
on that database, and an HTTP client speaking to it in-process."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from factories import AppFactory, make_settings
from gigforge.app import create_app
from gigforge.kit.db import Base, Database, create_engine
from gigforge.migrations import import_models, upgrade
from gigforge.settings import Settings

POSTGRES_URL = os.environ.get("GIGFORGE_TEST_POSTGRES_URL")


def _asyncpg_url(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "gigforge.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    return path


async def _own_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker drops and recreates a schema of its own: the configured
    database's name with the worker's id (`test_gw0`), created on the server if missing."""
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    server = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with server.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await server.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def postgres_url() -> str:
    """A freshly migrated schema on the CI PostgreSQL (one database per xdist worker)."""
    if not POSTGRES_URL:
        pytest.skip("GIGFORGE_TEST_POSTGRES_URL is not set; PostgreSQL tests need a server")
    url = _asyncpg_url(POSTGRES_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        url = await _own_database(url, worker)
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(engine)
    await engine.dispose()
    return url


async def _reset_postgres(url: str) -> None:
    import_models()
    tables = [table.name for table in Base.metadata.sorted_tables if table.name != "audit_head"]
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        await connection.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": "0" * 64})
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """Every database test runs on SQLite and, when configured, on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "gigforge.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The test database without an app (PostgreSQL emptied first), for kit-level tests."""
    if database_url.startswith("postgresql"):
        await _reset_postgres(database_url)
    database = Database.from_url(database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def app_factory(
    tmp_path: Path, database_url: str, settings: Settings
) -> AsyncIterator[AppFactory]:
    """Build the app on the test database with some settings changed: `await app_factory(...)`."""
    built: list[FastAPI] = []

    async def build(**overrides: object) -> FastAPI:
        changed = (
            make_settings(tmp_path, database_url, secret_key=settings.secret_key, **overrides)
            if overrides
            else settings
        )
        if database_url.startswith("postgresql"):
            await _reset_postgres(database_url)
        built.append(create_app(changed))
        return built[-1]

    yield build
    for application in built:
        await application.state.quota_notices.drain()
        await application.state.router.close()
        await application.state.database.dispose()


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    return await app_factory()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    """A session of its own, to look at or tamper with rows behind the API's back."""
    database: Database = app.state.database
    async with database.sessionmaker() as db_session:
        yield db_session


_TOUCHED_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy.engine")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back so other tests see none of it."""
    root = logging.getLogger()
    root_handlers = list(root.handlers)
    root_level = root.level
    others = [
        (logger, list(logger.handlers), logger.level, logger.propagate)
        for logger in map(logging.getLogger, _TOUCHED_LOGGERS)
    ]
    structlog_config = structlog.get_config() if structlog.is_configured() else None
    yield
    for handler in list(root.handlers):
        if handler.get_name() == "gigforge" and handler not in root_handlers:
            root.removeHandler(handler)
    for handler in root_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(root_level)
    for logger, handlers, level, propagate in others:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    structlog.reset_defaults()
    if structlog_config is not None:
        structlog.configure(**structlog_config)


@pytest.fixture
async def sandbox_app(app_factory: AppFactory) -> FastAPI:
    """The app in sandbox mode: every installed sandbox mounted under /sandbox/<slug>."""
    return await app_factory(sandbox=True)


@pytest.fixture
async def web(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the sandbox app, keeping cookies between requests."""
    transport = httpx.ASGITransport(app=sandbox_app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
