"""Engine settings: JSON through orjson with nothing lost, SQLite multi-row inserts, and
PostgreSQL plans made for each statement's values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, event, func, insert, select, text

from gigforge.kit.db import create_engine, json_dumps

_metadata = MetaData()
_documents = Table(
    "test_json_documents",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("body", JSON),
)


def test_json_dumps_writes_what_the_standard_library_reads_back() -> None:
    value = {"title": "Caf\u00e9 <b>", "skills": ["python"], "budget": 1.5, "n": None, 3: "three"}
    assert json.loads(json_dumps(value)) == {
        **{k: v for k, v in value.items() if k != 3},
        "3": "three",
    }


def test_json_dumps_keeps_integers_wider_than_64_bits() -> None:
    wide = {"id": 2**70, "ids": [-(2**65), 7]}
    assert json.loads(json_dumps(wide)) == wide


def test_json_dumps_still_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(TypeError):
        json_dumps({"value": object()})


async def test_json_columns_round_trip_wide_integers_and_text(database_url: str) -> None:
    engine = create_engine(database_url)
    body: dict[str, Any] = {
        "id": 2**70,
        "text": "\u041f\u0440\u0438\u0432\u0435\u0442 \U0001f600",
        "nested": {"a": [1, 2.5]},
    }
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
            await connection.execute(insert(_documents), [{"id": 1, "body": body}])
        async with engine.connect() as connection:
            stored = (await connection.execute(select(_documents.c.body))).scalar_one()
        assert stored == body
    finally:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.drop_all)
        await engine.dispose()


async def test_sqlite_takes_many_rows_in_one_statement(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'rows.db'}")
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_rest: statements.append(statement),
    )
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)
            statements.clear()
            await connection.execute(
                insert(_documents), [{"id": n, "body": {"n": n}} for n in range(1, 501)]
            )
            count = (
                await connection.execute(select(func.count()).select_from(_documents))
            ).scalar()
        assert count == 500
        inserts = [statement for statement in statements if statement.startswith("INSERT")]
        assert len(inserts) == 1
        assert inserts[0].count("(?, ?)") == 500
    finally:
        await engine.dispose()


async def test_postgresql_plans_each_statement_for_its_values(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            mode = (await connection.execute(text("SHOW plan_cache_mode"))).scalar()
        assert mode == "force_custom_plan"
    finally:
        await engine.dispose()


async def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_unnoticed(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gigforge.kit.db as db_module

    engine = create_engine(postgres_url, pool_size=1)
    server = create_engine(postgres_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with server.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)
        async with engine.connect() as connection:
            second = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await server.dispose()
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_before_each_transaction(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    import gigforge.kit.db as db_module

    pings: list[object] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        pings.append(self)
        real_ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    engine = create_engine(postgres_url, pool_size=1)
    try:
        for _ in range(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert pings == []
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        assert len(pings) == 1
    finally:
        await engine.dispose()
