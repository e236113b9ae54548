"""One rule for a bid amount, applied by the API and the dashboard alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from factories import AppFactory, connect_oauth, register
from gigforge.opportunities.scanning import Scanner
from gigforge.proposals.service import InvalidBidAmount, bid_amount_minor


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [
        ("250", "USD", 25_000),
        ("1,500.50", "USD", 150_050),
        ("10,000,000", "USD", 1_000_000_000),
        (Decimal("99.5"), "EUR", 9_950),
        ("15000", "JPY", 15_000),
        ("1.125", "KWD", 1_125),
    ],
)
def test_a_bid_within_the_cap_becomes_minor_units(
    typed: str | Decimal, currency: str, minor: int
) -> None:
    assert bid_amount_minor(typed, currency) == minor


@pytest.mark.parametrize(
    ("typed", "currency", "message"),
    [
        ("1e17", "USD", "A bid can be at most USD 10,000,000.00."),
        ("99999999999999999999999", "USD", "A bid can be at most USD 10,000,000.00."),
        (Decimal("1E+17"), "USD", "A bid can be at most USD 10,000,000.00."),
        ("10,000,000.01", "USD", "A bid can be at most USD 10,000,000.00."),
        ("20000000", "JPY", "A bid can be at most JPY 10,000,000."),
        ("12.345", "USD", "USD amounts have at most 2 decimals."),
        ("12.5", "JPY", "JPY amounts are whole numbers, without decimals."),
        ("0", "USD", "A bid must be more than zero."),
        ("-5", "USD", "The amount cannot be negative."),
        ("12,5x", "USD", "Enter an amount such as 1,500.00 or 1500 (not '12,5x')."),
        ("NaN", "USD", "Enter an amount such as 1,500.00 or 1500 (not 'NaN')."),
    ],
)
def test_a_bid_over_the_cap_or_malformed_is_refused_with_a_clear_message(
    typed: str | Decimal, currency: str, message: str
) -> None:
    with pytest.raises(InvalidBidAmount) as refused:
        bid_amount_minor(typed, currency)

    assert refused.value.detail == message
    assert refused.value.status_code == 422


@pytest.fixture
async def app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(sandbox=True)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize(
    "amount", [1e17, "99999999999999999999999", "1e17", 10_000_000.01, "12.345", 0]
)
async def test_the_api_refuses_a_bid_over_the_cap_or_too_fine_with_a_problem(
    app: FastAPI, http: httpx.AsyncClient, amount: object
) -> None:
    account = await register(http)
    connection_id = await connect_oauth(http, account, "freelancer")
    await Scanner(app.state.integrations).scan(uuid.UUID(connection_id))
    listed = await http.get("/api/v1/jobs/opportunities", headers=account.headers)
    job = listed.json()["opportunities"][0]
    drafted = await http.post(
        "/api/v1/proposals",
        json={"opportunity_id": job["id"], "text": "Mine"},
        headers=account.headers,
    )
    path = f"/api/v1/proposals/{drafted.json()['id']}/versions"

    refused = await http.post(path, json={"text": "x", "amount": amount}, headers=account.headers)

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    unchanged = await http.get(f"/api/v1/proposals/{drafted.json()['id']}", headers=account.headers)
    assert len(unchanged.json()["versions"]) == 1
    assert unchanged.json()["amount"] == drafted.json()["amount"]
