"""Small helpers that create real accounts through the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx

DEFAULT_PASSWORD = "correct horse battery staple"


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
