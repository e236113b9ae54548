"""`gigforge serve` on a real socket: migrate, serve docs, and the whole sign-in cycle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving import serving


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path) as served:
        yield served.base


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
