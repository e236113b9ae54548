"""A real `gigforge worker` process on a test app's database, for the crash and scale-out tests.

The worker runs outside sandbox mode: it reaches third parties over loopback HTTP (the test
serves their sandboxes on the allowed ports), as it would reach the real ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from fastapi import FastAPI


def start_worker(
    app: FastAPI,
    *,
    broker_url: str | None,
    allowed_ports: Sequence[int] = (),
    lease_seconds: int | None = None,
    log: Path | None = None,
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`gigforge worker --concurrency 4` with the app's database and keys; with `log`, its
    JSON log lines go to that file, otherwise nowhere."""
    settings = app.state.settings
    env = {
        **os.environ,
        "GIGFORGE_ENV": "test",
        "GIGFORGE_CONFIG": str(Path(settings.data_dir) / "absent.toml"),
        "GIGFORGE_DATA_DIR": str(settings.data_dir),
        "GIGFORGE_DATABASE_URL": settings.effective_database_url,
        "GIGFORGE_SECRET_KEY": settings.secret_key.get_secret_value(),
        "GIGFORGE_MASTER_KEY": settings.master_key.get_secret_value(),
        "GIGFORGE_ALLOWED_PRIVATE_HOSTS": json.dumps(
            [f"127.0.0.1:{port}" for port in allowed_ports]
        ),
        "GIGFORGE_LOG_LEVEL": "INFO" if log else "WARNING",
        "GIGFORGE_LOG_FORMAT": "json",
    }
    env.pop("GIGFORGE_BROKER_URL", None)
    if broker_url:
        env["GIGFORGE_BROKER_URL"] = broker_url
    if lease_seconds is not None:
        env["GIGFORGE_TASK_LEASE_SECONDS"] = str(lease_seconds)
    env.update(env_extra or {})
    command = [sys.executable, "-m", "gigforge", "worker", "--concurrency", "4"]
    if log is None:
        return subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    with log.open("wb") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)


async def wait_for(
    condition: Callable[[], Awaitable[bool]], what: str, within: float = 60.0
) -> None:
    """Poll `condition` until it holds; fail saying `what` was awaited."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
