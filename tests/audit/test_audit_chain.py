from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from factories import register
from gigforge.audit.models import AuditRecord
from gigforge.audit.service import audit as audit_service
from gigforge.cli import app as cli
from gigforge.kit.actor import SYSTEM, Actor
from gigforge.kit.db import Database, unit_of_work
from gigforge.settings import Settings


async def _activity(client: httpx.AsyncClient) -> None:
    account = await register(client)
    await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "wrong password!"}
    )
    await client.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["users:read"]}, headers=account.headers
    )


async def test_untouched_chain_verifies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _activity(client)
    result = await audit_service.verify(session)
    assert result.ok
    assert result.checked == 3


async def test_edited_record_is_named(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _activity(client)
    await session.execute(
        update(AuditRecord).where(AuditRecord.seq == 2).values(data={"reason": "nothing here"})
    )
    await session.commit()
    result = await audit_service.verify(session)
    assert not result.ok
    assert result.first_bad_seq == 2
    assert result.reason == "was changed after writing"


async def test_deleted_record_is_named(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _activity(client)
    await session.execute(delete(AuditRecord).where(AuditRecord.seq == 2))
    await session.commit()
    result = await audit_service.verify(session)
    assert (result.ok, result.first_bad_seq) == (False, 2)


async def test_deleted_tail_is_detected(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await _activity(client)
    await session.execute(delete(AuditRecord).where(AuditRecord.seq == 3))
    await session.commit()
    result = await audit_service.verify(session)
    assert (result.ok, result.first_bad_seq) == (False, 3)


async def test_concurrent_appends_never_fork(app: FastAPI, session: AsyncSession) -> None:
    database: Database = app.state.database

    async def append(index: int) -> None:
        async with unit_of_work(database) as unit:
            await audit_service.record(
                unit, Actor(ip=f"192.0.2.{index}"), action="test.concurrent", target_id=index
            )

    await asyncio.gather(*(append(index) for index in range(12)))
    result = await audit_service.verify(session)
    assert result.ok
    assert result.checked == 12


async def test_rolled_back_work_leaves_no_record(app: FastAPI, session: AsyncSession) -> None:
    database: Database = app.state.database

    async def failing_work() -> None:
        async with unit_of_work(database) as unit:
            await audit_service.record(unit, SYSTEM, action="test.rolled_back")
            raise RuntimeError("the work failed")

    with pytest.raises(RuntimeError):
        await failing_work()
    async with unit_of_work(database) as unit:
        await audit_service.record(unit, SYSTEM, action="test.kept", target_id=uuid.uuid4())
    result = await audit_service.verify(session)
    assert (result.ok, result.checked) == (True, 1)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GIGFORGE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GIGFORGE_CONFIG", str(Path(settings.data_dir) / "absent.toml"))
    return settings


async def test_cli_verify_passes_then_names_the_bad_record(
    cli_env: Settings, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    runner = CliRunner()
    await _activity(client)
    # The CLI runs its own event loop, so it gets a thread of its own.
    ok = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "3 records verified" in ok.output

    await session.execute(
        update(AuditRecord).where(AuditRecord.seq == 2).values(actor_ip="10.9.9.9")
    )
    await session.commit()
    bad = await asyncio.to_thread(runner.invoke, cli, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "broken at record 2" in bad.output
