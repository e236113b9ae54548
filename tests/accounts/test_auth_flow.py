from __future__ import annotations

import httpx

from factories import DEFAULT_PASSWORD, register


async def test_register_login_me_refresh_logout(client: httpx.AsyncClient) -> None:
    account = await register(client, email="Ada@Example.com")

    login = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": DEFAULT_PASSWORD}
    )
    assert login.status_code == 200
    tokens = login.json()
    assert tokens["user_id"] == account.user_id
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900

    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json() == me.json() | {
        "user_id": account.user_id,
        "email": "ada@example.com",
        "full_name": "Ada Lovelace",
        "certification_level": 0,
        "wallet_balance": 0,
        "lifetime_earnings": 0,
        "client_satisfaction_rating": 0,
        "total_jobs_completed": 0,
        "role": "admin",
    }

    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new_tokens = refreshed.json()
    assert new_tokens["refresh_token"] != tokens["refresh_token"]

    logout = await client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {new_tokens['access_token']}"}
    )
    assert logout.status_code == 204
    after = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {new_tokens['access_token']}"}
    )
    assert after.status_code == 401
    assert after.headers["content-type"] == "application/problem+json"
