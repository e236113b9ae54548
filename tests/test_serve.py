"""`gigforge serve` on a real socket: migrate, serve docs, and the whole sign-in cycle."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "GIGFORGE_ENV": "development",
        "GIGFORGE_DATA_DIR": str(tmp_path / "data"),
        "GIGFORGE_CONFIG": str(tmp_path / "absent.toml"),
    }
    env.pop("GIGFORGE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gigforge", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("gigforge serve did not become ready")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_serve_runs_the_sign_in_cycle_over_http(server: str) -> None:
    with httpx.Client(base_url=server) as http:
        assert http.get("/docs").status_code == 200
        assert http.get("/", follow_redirects=False).headers["location"] == "/opportunities"
        registered = http.post(
            "/api/v1/auth/register",
            json={"email": "ops@example.com", "password": "served passphrase!", "full_name": "Ops"},
        )
        assert registered.status_code == 201
        login = http.post(
            "/api/v1/auth/login",
            json={"email": "ops@example.com", "password": "served passphrase!"},
        ).json()
        me = http.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {login['access_token']}"}
        )
        assert me.json()["email"] == "ops@example.com"
        refreshed = http.post(
            "/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]}
        )
        assert refreshed.status_code == 200
        out = http.post(
            "/api/v1/auth/logout",
            headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
        )
        assert out.status_code == 204
        again = http.post(
            "/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
        )
        assert again.status_code == 401
