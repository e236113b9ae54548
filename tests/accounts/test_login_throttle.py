from __future__ import annotations

import httpx

from factories import AppFactory, register


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_repeated_failures_for_an_account_get_429(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for _ in range(5):
        assert (await _login(client, account.email, "wrong password!")).status_code == 401
    throttled = await _login(client, account.email, account.password)
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert throttled.json()["retry_after"] == retry_after


async def test_success_clears_the_account_counter(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for _ in range(4):
        await _login(client, account.email, "wrong password!")
    assert (await _login(client, account.email, account.password)).status_code == 200
    for _ in range(4):
        assert (await _login(client, account.email, "wrong password!")).status_code == 401


async def test_repeated_failures_from_one_address_get_429(app_factory: AppFactory) -> None:
    strict_ip_app = await app_factory(login_max_failures_per_ip=3)
    transport = httpx.ASGITransport(app=strict_ip_app, client=("198.51.100.9", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for index in range(3):
            response = await _login(client, f"nobody{index}@example.com", "wrong password!")
            assert response.status_code == 401
        assert (await _login(client, "fresh@example.com", "whatever pass")).status_code == 429
    other = httpx.ASGITransport(app=strict_ip_app, client=("198.51.100.10", 1234))
    async with httpx.AsyncClient(transport=other, base_url="http://t") as client:
        assert (await _login(client, "fresh@example.com", "whatever pass")).status_code == 401


async def test_failed_sign_ins_are_audited(client: httpx.AsyncClient) -> None:
    account = await register(client)
    await _login(client, account.email, "wrong password!")
    records = (
        await client.get("/api/v1/audit?action=auth.login_failed", headers=account.headers)
    ).json()
    assert records["total"] == 1
    assert records["items"][0]["actor_ip"] == "203.0.113.7"
    assert records["items"][0]["data"] == {"reason": "wrong_password"}
