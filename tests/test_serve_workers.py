"""`gigforge serve --workers N`: several API processes on one port, background work elsewhere."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GIGFORGE_ENV": "development",
        "GIGFORGE_DATA_DIR": str(tmp_path / "data"),
        "GIGFORGE_CONFIG": str(tmp_path / "absent.toml"),
        **extra,
    }
    for name in ("GIGFORGE_DATABASE_URL", "GIGFORGE_BROKER_URL", "GIGFORGE_SANDBOX"):
        env.pop(name, None)
    return env


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def test_two_api_processes_answer_on_one_port(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gigforge", "serve", "--port", str(port), "--workers", "2"],
        env=_env(tmp_path, GIGFORGE_EMBEDDED_WORKER="false"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("gigforge serve --workers 2 did not become ready")
        # uvicorn's supervisor starts one child per worker (its multiprocessing helper aside).
        deadline = time.monotonic() + 30
        while len(_children(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_children(process.pid)) >= 2
        with httpx.Client(base_url=base) as http:
            registered = http.post(
                "/api/v1/auth/register",
                json={"email": "o@example.com", "password": "served passphrase!", "full_name": "O"},
            )
            assert registered.status_code == 201, registered.text
            headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
            # New connections spread over both processes: a token one signed works in the other.
            for _ in range(20):
                with httpx.Client(base_url=base, headers=headers) as fresh:
                    me = fresh.get("/api/v1/users/me")
                    assert me.status_code == 200, me.text
                    assert me.json()["email"] == "o@example.com"
            assert http.post("/api/v1/auth/logout", headers=headers).status_code == 204
            for _ in range(6):
                with httpx.Client(base_url=base, headers=headers) as fresh:
                    assert fresh.get("/api/v1/users/me").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_many_workers_refuse_to_run_the_embedded_worker_in_each(tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "gigforge", "serve", "--port", str(_free_port()), "--workers", "2"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "GIGFORGE_EMBEDDED_WORKER=false" in refused.stderr
    sandboxed = subprocess.run(
        [sys.executable, "-m", "gigforge", "serve", "--workers", "2", "--sandbox"],
        env=_env(tmp_path, GIGFORGE_EMBEDDED_WORKER="false"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sandboxed.returncode == 1
    assert "sandboxes keep their state in one process" in sandboxed.stderr
