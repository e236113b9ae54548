"""Small helpers that create real accounts through the API."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from gigforge.settings import Settings

DEFAULT_PASSWORD = "correct horse battery staple"

# The `app_factory` fixture: `await app_factory(**settings_overrides)` builds the app.
AppFactory = Callable[..., Awaitable[FastAPI]]


@dataclass
class Account:
    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def register(
    client: httpx.AsyncClient,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str = "Ada Lovelace",
) -> Account:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "full_name": full_name},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(body["user_id"], email, password, body["access_token"], body["refresh_token"])


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "secret_key": secrets.token_urlsafe(48),
        "master_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        # Argon2id at its cheapest keeps the suite fast; production costs are in Settings.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 8,
        "password_hash_parallelism": 1,
        "log_format": "json",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
