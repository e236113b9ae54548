"""A real `gigforge serve` on a loopback port, for tests that need a server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base: str
    env: dict[str, str]


@contextmanager
def serving(tmp_path: Path, *args: str, **settings: str) -> Iterator[Server]:
    """`gigforge serve [args]` in development mode on SQLite in `tmp_path`, until the block
    ends. `settings` are GIGFORGE_* variables (`EMBEDDED_WORKER="false"`); the caller's
    database, sandbox and worker settings are not inherited."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"GIGFORGE_DATABASE_URL", "GIGFORGE_SANDBOX", "GIGFORGE_EMBEDDED_WORKER"}
    }
    env.update(
        {
            "GIGFORGE_ENV": "development",
            "GIGFORGE_DATA_DIR": str(tmp_path / "data"),
            "GIGFORGE_CONFIG": str(tmp_path / "absent.toml"),
            "GIGFORGE_PUBLIC_URL": base,
            **{f"GIGFORGE_{name}": value for name, value in settings.items()},
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gigforge", "serve", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "gigforge serve exited before it was ready"
            assert time.monotonic() < deadline, "gigforge serve did not become ready"
            time.sleep(0.1)
        yield Server(base, env)
    finally:
        process.terminate()
        process.wait(timeout=30)
