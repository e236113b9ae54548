"""Payouts: held at once, approved with a second factor or by a capped rule, sent through
the provider, and refused plainly when they cannot be done."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from factories import register
from gigforge.kit.db import unit_of_work
from gigforge.ledger.service import ledger
from payments_support import completed_job, onboarded, paid_invoice

PAYOUT = "/api/v1/payments/payout"


async def _funded(app: FastAPI, http: httpx.AsyncClient) -> object:
    account = await register(http)
    job_id = await completed_job(app, account)
    await onboarded(app, http, account)
    await paid_invoice(app, http, account, job_id)
    return account


async def test_refusals_are_clear_and_hold_nothing(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    no_account = await web.post(PAYOUT, json={"amount": 10}, headers=account.headers)
    assert no_account.status_code == 409
    assert "payout account" in no_account.json()["detail"]
    account = await _funded(sandbox_app, web)
    check = await web.post(PAYOUT, json={"amount": 10, "method": "check"}, headers=account.headers)
    assert check.status_code == 422
    assert check.json()["type"].endswith("payout-method-unsupported")
    assert "check" in check.json()["detail"]
    too_much = await web.post(PAYOUT, json={"amount": 5000}, headers=account.headers)
    assert too_much.status_code == 422
    assert too_much.json()["type"].endswith("insufficient-funds")
    fractional = await web.post(PAYOUT, json={"amount": "10.001"}, headers=account.headers)
    assert fractional.status_code == 422
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["available_for_withdrawal"] == 1425.0
    assert wallet["reserved"] == 0.0
    listed = (await web.get("/api/v1/payments/payouts", headers=account.headers)).json()
    assert listed["total"] == 0


async def test_a_declined_payout_gives_the_money_back(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await _funded(sandbox_app, web)
    payout = (await web.post(PAYOUT, json={"amount": 1000}, headers=account.headers)).json()
    second = await web.post(PAYOUT, json={"amount": 500}, headers=account.headers)
    assert second.status_code == 422  # only 425.00 is left after the first hold
    declined = await web.post(
        f"/api/v1/payments/payouts/{payout['payout_id']}/decline", headers=account.headers
    )
    assert declined.json()["status"] == "declined"
    again = await web.post(
        f"/api/v1/payments/payouts/{payout['payout_id']}/approve",
        json={"password": account.password},
        headers=account.headers,
    )
    assert again.status_code == 409
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["available_for_withdrawal"] == 1425.0
    async with unit_of_work(sandbox_app.state.database) as session:
        assert (await ledger.verify(session)).clean


async def test_the_capped_rule_approves_small_payouts_only(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await _funded(sandbox_app, web)
    bad = await web.patch(
        "/api/v1/payments/settings",
        json={"auto_payout_max": 100, "auto_payout_daily_max": 50},
        headers=account.headers,
    )
    assert bad.status_code == 409
    rule = await web.patch(
        "/api/v1/payments/settings",
        json={"auto_payout_max": 100, "auto_payout_daily_max": 150},
        headers=account.headers,
    )
    assert rule.status_code == 200, rule.text
    small = (await web.post(PAYOUT, json={"amount": 100}, headers=account.headers)).json()
    assert small["auto_approved"] is True
    assert small["status"] == "approved"
    over_day = (await web.post(PAYOUT, json={"amount": 60}, headers=account.headers)).json()
    assert over_day["status"] == "awaiting_approval"  # 160.00 today is past the daily cap
    big = (await web.post(PAYOUT, json={"amount": 101}, headers=account.headers)).json()
    assert big["status"] == "awaiting_approval"
    await sandbox_app.state.tasks.run_due()
    paid = (
        await web.get(f"/api/v1/payments/payouts/{small['payout_id']}", headers=account.headers)
    ).json()
    assert paid["status"] == "paid"


async def test_a_bank_account_registered_and_a_failing_payout_voids_its_hold(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await _funded(sandbox_app, web)
    invalid = await web.post(
        "/api/v1/payments/bank-accounts",
        json={"holder_name": "Ada", "iban": "DE89370400440532013001X", "currency": "USD"},
        headers=account.headers,
    )
    assert invalid.status_code == 422
    wrong_bic = await web.post(
        "/api/v1/payments/bank-accounts",
        json={
            "holder_name": "Ada",
            "iban": "DE89370400440532013000",
            "bic": "BNPAFRPPXXX",
            "currency": "USD",
        },
        headers=account.headers,
    )
    assert wrong_bic.status_code == 422
    assert "BIC" in wrong_bic.json()["detail"]
    # Stripe's test IBAN whose payouts fail with no_account.
    added = await web.post(
        "/api/v1/payments/bank-accounts",
        json={"holder_name": "Ada", "iban": "DE62 3704 0044 0532 0130 01", "currency": "USD"},
        headers=account.headers,
    )
    assert added.status_code == 201, added.text
    bank = added.json()
    assert bank["iban_masked"].endswith("3001")
    assert bank["status"] == "registering"
    await sandbox_app.state.tasks.run_due()
    listed = (await web.get("/api/v1/payments/bank-accounts", headers=account.headers)).json()
    assert listed[0]["status"] == "active"
    assert listed[0]["provider_bank_id"].startswith("ba_")
    payout = (
        await web.post(
            PAYOUT,
            json={"amount": 200, "bank_account_id": listed[0]["provider_bank_id"]},
            headers=account.headers,
        )
    ).json()
    await web.post(
        f"/api/v1/payments/payouts/{payout['payout_id']}/approve",
        json={"password": account.password},
        headers=account.headers,
    )
    await sandbox_app.state.tasks.run_due()
    final = (
        await web.get(f"/api/v1/payments/payouts/{payout['payout_id']}", headers=account.headers)
    ).json()
    assert final["status"] == "failed", final
    assert final["failure"]
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["available_for_withdrawal"] == 1425.0
    async with unit_of_work(sandbox_app.state.database) as session:
        assert (await ledger.verify(session)).clean
