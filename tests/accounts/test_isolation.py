"""User A can neither read nor change user B's rows through any endpoint."""

from __future__ import annotations

import httpx

from factories import register


async def test_users_cannot_touch_each_others_api_keys(client: httpx.AsyncClient) -> None:
    await register(client)  # the first account is the admin; A and B are plain members
    alice = await register(client)
    bob = await register(client)
    bobs_key = (
        await client.post(
            "/api/v1/api-keys",
            json={"name": "bob", "scopes": ["users:read"]},
            headers=bob.headers,
        )
    ).json()

    listed = (await client.get("/api/v1/api-keys", headers=alice.headers)).json()
    assert listed["total"] == 0
    revoke = await client.delete(f"/api/v1/api-keys/{bobs_key['id']}", headers=alice.headers)
    assert revoke.status_code == 404
    still = await client.get("/api/v1/users/me", headers={"X-API-Key": bobs_key["key"]})
    assert still.status_code == 200
    assert still.json()["user_id"] == bob.user_id


async def test_members_cannot_read_or_change_other_accounts(client: httpx.AsyncClient) -> None:
    await register(client)
    alice = await register(client)
    bob = await register(client)
    assert (await client.get("/api/v1/users", headers=alice.headers)).status_code == 403
    promote = await client.patch(
        f"/api/v1/users/{bob.user_id}", json={"role": "admin"}, headers=alice.headers
    )
    assert promote.status_code == 403
    me = (await client.get("/api/v1/users/me", headers=alice.headers)).json()
    assert me["user_id"] == alice.user_id


async def test_audit_shows_only_own_records(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    alice = await register(client)
    bob = await register(client)
    await client.post(
        "/api/v1/api-keys", json={"name": "bob", "scopes": ["users:read"]}, headers=bob.headers
    )
    alices = (await client.get("/api/v1/audit", headers=alice.headers)).json()
    assert alices["total"] >= 1
    for record in alices["items"]:
        assert alice.user_id in (record["user_id"], record["actor_user_id"])
    everything = (await client.get("/api/v1/audit", headers=admin.headers)).json()
    assert {record["user_id"] for record in everything["items"]} >= {
        admin.user_id,
        alice.user_id,
        bob.user_id,
    }


async def test_cannot_log_out_another_users_session(client: httpx.AsyncClient) -> None:
    alice = await register(client)
    bob = await register(client)
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": bob.refresh_token}, headers=alice.headers
    )
    assert response.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=bob.headers)).status_code == 200
