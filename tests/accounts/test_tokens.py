from __future__ import annotations

import time
import uuid

import httpx
import jwt

from factories import register
from gigforge.settings import Settings

ME = "/api/v1/users/me"


def _claims(account_user_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "gigforge",
        "aud": "gigforge-api",
        "sub": account_user_id,
        "sid": str(uuid.uuid4()),
        "scope": "users:read",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


async def _session_id(client: httpx.AsyncClient, token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sid"])


async def test_refresh_rotates_the_refresh_token(client: httpx.AsyncClient) -> None:
    account = await register(client)
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    second = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first.json()["refresh_token"]}
    )
    assert second.status_code == 200
    assert (
        len({account.refresh_token, first.json()["refresh_token"], second.json()["refresh_token"]})
        == 3
    )


async def test_refresh_token_reuse_revokes_family(client: httpx.AsyncClient) -> None:
    account = await register(client)
    rotated = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    current = rotated.json()

    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("refresh-token-reused")

    # The legitimate descendant and its access token die with the family.
    descendant = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": current["refresh_token"]}
    )
    assert descendant.status_code == 401
    me = await client.get(ME, headers={"Authorization": f"Bearer {current['access_token']}"})
    assert me.status_code == 401


async def test_reuse_in_one_family_leaves_other_sessions_alone(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    other = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": account.password}
    )
    await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    me = await client.get(ME, headers={"Authorization": f"Bearer {other.json()['access_token']}"})
    assert me.status_code == 200


async def test_logout_revokes_refresh_and_access(client: httpx.AsyncClient) -> None:
    account = await register(client)
    out = await client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})
    assert out.status_code == 204
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401
    assert (await client.get(ME, headers=account.headers)).status_code == 401


async def test_logout_without_credentials_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_expired_access_token_rejected(client: httpx.AsyncClient, settings: Settings) -> None:
    account = await register(client)
    sid = await _session_id(client, account.access_token)
    now = int(time.time())
    token = jwt.encode(
        _claims(account.user_id, sid=sid, iat=now - 1000, exp=now - 10),
        settings.signing_key,
        algorithm="HS256",
    )
    response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-token")


async def test_tampered_access_token_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    header, payload, signature = account.access_token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b"users:read", b"admin users:read")
    ).decode()
    for token in (
        f"{header}.{forged_payload}.{signature}",
        f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
    ):
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


async def test_other_algorithms_rejected(client: httpx.AsyncClient, settings: Settings) -> None:
    account = await register(client)
    claims = _claims(account.user_id, sid=await _session_id(client, account.access_token))
    hs512 = jwt.encode(claims, settings.signing_key, algorithm="HS512")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (hs512, unsigned):
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


async def test_token_signed_with_another_key_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    claims = _claims(account.user_id, sid=await _session_id(client, account.access_token))
    token = jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256")
    assert (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_access_token_carries_the_documented_claims(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    account = await register(client)
    claims = jwt.decode(
        account.access_token, settings.signing_key, algorithms=["HS256"], audience="gigforge-api"
    )
    assert {"sub", "scope", "jti", "exp", "iat"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["sub"] == account.user_id
