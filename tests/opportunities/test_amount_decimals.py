"""An amount with more decimals than its currency has is a 422 that says so, never a 500:
opportunity filters, the matching profile and the auto-approve cap."""

from __future__ import annotations

import httpx
import pytest

from factories import register


def _assert_refused(response: httpx.Response, fragment: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]


@pytest.mark.parametrize("name", ["min_budget", "max_budget"])
async def test_a_budget_filter_finer_than_cents_is_a_422(
    client: httpx.AsyncClient, name: str
) -> None:
    account = await register(client)
    response = await client.get(f"/api/v1/jobs/opportunities?{name}=1.234", headers=account.headers)
    _assert_refused(response, "USD amounts have at most 2 decimals")
    fine = await client.get(f"/api/v1/jobs/opportunities?{name}=1.23", headers=account.headers)
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("currency", "amount", "message"),
    [
        ("USD", "12.345", "hourly_rate: USD amounts have at most 2 decimals"),
        ("JPY", "12.5", "hourly_rate: JPY amounts are whole numbers"),
        ("KWD", "1.2345", "hourly_rate: KWD amounts have at most 3 decimals"),
    ],
)
async def test_a_profile_rate_finer_than_its_currency_is_a_422(
    client: httpx.AsyncClient, currency: str, amount: str, message: str
) -> None:
    account = await register(client)
    response = await client.put(
        "/api/v1/users/me/profile",
        json={"hourly_rate": amount, "currency": currency},
        headers=account.headers,
    )
    _assert_refused(response, message)


async def test_a_profile_minimum_budget_is_checked_against_the_profile_currency(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    refused = await client.put(
        "/api/v1/users/me/profile",
        json={"min_budget": "1500.5", "currency": "JPY"},
        headers=account.headers,
    )
    _assert_refused(refused, "min_budget: JPY amounts are whole numbers")
    stored = await client.put(
        "/api/v1/users/me/profile",
        json={"min_budget": "1500", "hourly_rate": "12.125", "currency": "KWD"},
        headers=account.headers,
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["hourly_rate"] == 12.125


async def test_an_auto_approve_cap_finer_than_cents_is_a_422(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.put(
        "/api/v1/proposals-auto-approve",
        json={"enabled": True, "max_budget": 1.005},
        headers=account.headers,
    )
    _assert_refused(response, "USD amounts have at most 2 decimals")
