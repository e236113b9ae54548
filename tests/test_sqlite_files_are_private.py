"""The SQLite database holds password hashes and encrypted secrets: its file and the WAL and
shared-memory files beside it are readable by their owner only, like the key files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from gigforge.kit.db import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_wal_files_are_created_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'gigforge.db'}")
        async with database.engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            files = sorted(path.name for path in (tmp_path / "data").iterdir())
            assert files == ["gigforge.db", "gigforge.db-shm", "gigforge.db-wal"]
            for name in files:
                assert _mode(tmp_path / "data" / name) == 0o600, name
        await database.dispose()
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "data") == 0o700


async def test_an_existing_world_readable_database_is_tightened_when_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gigforge.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    database = Database.from_url(f"sqlite+aiosqlite:///{path}")
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    await database.dispose()
    assert _mode(path) == 0o600
