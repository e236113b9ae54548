"""Planted secrets travel through real requests; none of them reaches the log output."""

from __future__ import annotations

import logging

import httpx
import pytest

from factories import register

PASSWORD = "planted-password-91f3c2"


async def test_secrets_never_reach_the_logs(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    account = await register(client, email="planted.person@example.com", password=PASSWORD)
    await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD + "x"}
    )
    login = (
        await client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    ).json()
    key = (
        await client.post(
            "/api/v1/api-keys",
            json={"name": "k", "scopes": ["users:read"]},
            headers=account.headers,
        )
    ).json()["key"]
    await client.get("/api/v1/users/me", headers={"X-API-Key": key})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    await client.post("/api/v1/auth/reset-password", json={"email": account.email})
    # A careless log line elsewhere in the process is scrubbed too.
    logging.getLogger("some.library").warning(
        "request failed: Authorization: Bearer %s body=%s",
        login["access_token"],
        {"password": PASSWORD, "api_key": key},
    )

    output = capsys.readouterr().err
    assert '"route": "/api/v1/auth/login"' in output or "/auth/login" in output
    planted = [
        PASSWORD,
        account.access_token,
        login["access_token"],
        login["refresh_token"],
        account.refresh_token,
        key,
        account.email,
    ]
    for secret in planted:
        assert secret not in output, f"{secret[:12]}... leaked into the logs"
