"""Sign-in and sign-up limits hold under concurrency: an attempt is counted before the
password is checked or hashed, so a burst of simultaneous requests cannot all get through."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from factories import AppFactory, register
from gigforge.accounts import passwords
from gigforge.settings import Settings

CONCURRENT = 12


class Calls:
    def __init__(self) -> None:
        self.count = 0


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Counts password checks; each one takes a little while, as Argon2id does, so that
    requests really overlap."""
    calls = Calls()
    real = passwords.verify_password

    async def counted(settings: Settings, password_hash: str, password: str) -> bool:
        calls.count += 1
        await asyncio.sleep(0.05)
        return await real(settings, password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counted)
    return calls


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()
    real = passwords.hash_password

    async def counted(settings: Settings, password: str) -> str:
        calls.count += 1
        await asyncio.sleep(0.05)
        return await real(settings, password)

    monkeypatch.setattr(passwords, "hash_password", counted)
    return calls


def _client(app: FastAPI, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


async def test_concurrent_wrong_passwords_are_checked_at_most_the_account_limit(
    app: FastAPI, verifications: Calls
) -> None:
    async with _client(app) as client:
        account = await register(client)
        responses = await asyncio.gather(
            *(_login(client, account.email, "wrong password!") for _ in range(CONCURRENT))
        )
    assert verifications.count == 5
    assert sorted(r.status_code for r in responses) == [401] * 5 + [429] * (CONCURRENT - 5)
    for response in responses:
        if response.status_code == 429:
            _assert_throttled(response)


async def test_wrong_passwords_through_two_processes_share_one_limit(
    app_factory: AppFactory, verifications: Calls
) -> None:
    """Two apps with their own engines and pools on one database, as two server processes."""
    first, second = await app_factory(), await app_factory()
    async with _client(first) as one, _client(second, "198.51.100.4") as other:
        account = await register(one)
        responses = await asyncio.gather(
            *(
                _login(one if index % 2 else other, account.email, "wrong password!")
                for index in range(CONCURRENT)
            )
        )
    assert verifications.count == 5
    assert sorted(r.status_code for r in responses) == [401] * 5 + [429] * (CONCURRENT - 5)


async def test_concurrent_guesses_from_one_address_are_checked_at_most_the_address_limit(
    app_factory: AppFactory, verifications: Calls
) -> None:
    app = await app_factory(login_max_failures_per_ip=4)
    async with _client(app) as client:
        responses = await asyncio.gather(
            *(
                _login(client, f"nobody{index}@example.com", "wrong password!")
                for index in range(CONCURRENT)
            )
        )
    assert verifications.count == 4
    assert sorted(r.status_code for r in responses) == [401] * 4 + [429] * (CONCURRENT - 4)


async def test_successful_sign_ins_do_not_use_up_the_address_limit(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(login_max_failures_per_ip=2)
    async with _client(app) as client:
        account = await register(client)
        for _ in range(5):
            assert (await _login(client, account.email, account.password)).status_code == 200
        assert (await _login(client, account.email, "wrong password!")).status_code == 401


async def test_a_throttled_account_can_sign_in_once_the_window_is_over(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(login_failure_window=timedelta(seconds=3))
    async with _client(app) as client:
        account = await register(client)
        for _ in range(5):
            assert (await _login(client, account.email, "wrong password!")).status_code == 401
        throttled = await _login(client, account.email, account.password)
        assert throttled.status_code == 429
        retry_after = int(throttled.headers["Retry-After"])
        assert 1 <= retry_after <= 3
        await asyncio.sleep(retry_after + 0.05)
        assert (await _login(client, account.email, account.password)).status_code == 200


async def _sign_up(client: httpx.AsyncClient, index: int) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register",
        json={
            "email": f"flood{index}@example.com",
            "password": "correct horse battery staple",
            "full_name": "Flood Tester",
        },
    )


async def test_a_burst_of_sign_ups_from_one_address_gets_429_after_the_limit(
    app: FastAPI, hashes: Calls
) -> None:
    async with _client(app) as client:
        responses = await asyncio.gather(*(_sign_up(client, index) for index in range(30)))
    assert sorted(r.status_code for r in responses) == [201] * 5 + [429] * 25
    assert hashes.count == 5
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "urn:gigforge:problem:registration-throttled"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.json()["retry_after"] == int(refused.headers["Retry-After"])


async def test_the_sign_up_limit_is_per_address_and_configurable(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(registrations_per_ip=2, registration_window=timedelta(minutes=10))
    async with _client(app) as client:
        assert [(await _sign_up(client, index)).status_code for index in range(3)] == [
            201,
            201,
            429,
        ]
    async with _client(app, "198.51.100.23") as elsewhere:
        assert (await _sign_up(elsewhere, 3)).status_code == 201


async def test_refused_sign_ups_that_fail_validation_do_not_count(app: FastAPI) -> None:
    async with _client(app) as client:
        for _ in range(6):
            weak = await client.post(
                "/api/v1/auth/register",
                json={"email": "weak@example.com", "password": "short", "full_name": "W"},
            )
            assert weak.status_code == 422
        assert (await _sign_up(client, 0)).status_code == 201
