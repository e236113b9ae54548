from __future__ import annotations

import httpx

from factories import register

ME = "/api/v1/users/me"


async def test_register_applies_the_password_policy(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "grace@example.com", "password": "grace12345", "full_name": "Grace"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("weak-password")
    assert "must not contain your email address" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "password"]


async def test_duplicate_email_is_a_conflict(client: httpx.AsyncClient) -> None:
    account = await register(client)
    again = await client.post(
        "/api/v1/auth/register",
        json={"email": account.email.upper(), "password": "another fine phrase", "full_name": "X"},
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("email-taken")


async def test_first_account_is_admin_then_members(client: httpx.AsyncClient) -> None:
    first = await register(client)
    second = await register(client)
    assert (await client.get(ME, headers=first.headers)).json()["role"] == "admin"
    assert (await client.get(ME, headers=second.headers)).json()["role"] == "member"


async def test_update_name(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.patch(
        ME, json={"full_name": "Augusta Ada King"}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.json()["full_name"] == "Augusta Ada King"


async def test_email_change_needs_the_current_password(client: httpx.AsyncClient) -> None:
    account = await register(client)
    missing = await client.patch(ME, json={"email": "new@example.com"}, headers=account.headers)
    assert missing.status_code == 422
    wrong = await client.patch(
        ME,
        json={"email": "new@example.com", "current_password": "not it at all"},
        headers=account.headers,
    )
    assert wrong.status_code == 403
    ok = await client.patch(
        ME,
        json={"email": "new@example.com", "current_password": account.password},
        headers=account.headers,
    )
    assert ok.status_code == 200
    assert ok.json()["email"] == "new@example.com"


async def test_password_change_ends_other_sessions(client: httpx.AsyncClient) -> None:
    account = await register(client)
    other = (
        await client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        )
    ).json()
    changed = await client.patch(
        ME,
        json={"new_password": "a different passphrase", "current_password": account.password},
        headers=account.headers,
    )
    assert changed.status_code == 200
    assert (await client.get(ME, headers=account.headers)).status_code == 200
    other_me = await client.get(ME, headers={"Authorization": f"Bearer {other['access_token']}"})
    assert other_me.status_code == 401


async def test_stats_count_real_rows(client: httpx.AsyncClient) -> None:
    account = await register(client)
    await client.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["users:read"]}, headers=account.headers
    )
    stats = (await client.get(f"{ME}/stats", headers=account.headers)).json()
    assert stats["active_sessions"] == 1
    assert stats["active_api_keys"] == 1
    assert stats["total_jobs_completed"] == 0


async def test_role_change_is_audited_and_ends_sessions(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    member = await register(client)
    response = await client.patch(
        f"/api/v1/users/{member.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    assert (await client.get(ME, headers=member.headers)).status_code == 401
    records = (
        await client.get("/api/v1/audit?action=user.role_changed", headers=admin.headers)
    ).json()["items"]
    assert records[0]["data"] == {"from": "member", "to": "viewer"}
    assert records[0]["actor_user_id"] == admin.user_id
    assert records[0]["user_id"] == member.user_id


async def test_viewer_cannot_write(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    viewer = await register(client)
    await client.patch(
        f"/api/v1/users/{viewer.user_id}", json={"role": "viewer"}, headers=admin.headers
    )
    login = await client.post(
        "/api/v1/auth/login", json={"email": viewer.email, "password": viewer.password}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert (await client.get(ME, headers=headers)).status_code == 200
    assert (await client.patch(ME, json={"full_name": "V"}, headers=headers)).status_code == 403


async def test_last_admin_cannot_be_demoted(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    response = await client.patch(
        f"/api/v1/users/{admin.user_id}", json={"role": "member"}, headers=admin.headers
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("last-admin")


async def test_deactivated_user_cannot_sign_in(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    member = await register(client)
    await client.patch(
        f"/api/v1/users/{member.user_id}", json={"is_active": False}, headers=admin.headers
    )
    assert (await client.get(ME, headers=member.headers)).status_code == 401
    login = await client.post(
        "/api/v1/auth/login", json={"email": member.email, "password": member.password}
    )
    assert login.status_code == 401


async def test_concurrent_registrations_of_one_email_never_500(client: httpx.AsyncClient) -> None:
    import asyncio

    body = {"email": "race@example.com", "password": "a racing passphrase", "full_name": "R"}
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/register", json=body) for _ in range(4))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 409}
    assert all(
        response.json()["type"].endswith(("email-taken", "conflict"))
        for response in responses
        if response.status_code == 409
    )
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"] == "application/problem+json"
