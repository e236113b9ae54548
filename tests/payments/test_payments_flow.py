"""The whole road on the Stripe sandbox: invoice a completed job, the client pays on the hosted
page, the platform keeps its fee and transfers the rest, the user withdraws with approval."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from factories import register
from gigforge.kit.db import unit_of_work
from gigforge.ledger.service import ledger
from payments_support import completed_job, onboarded, paid_invoice


async def test_invoice_paid_transferred_and_withdrawn(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    job_id = await completed_job(sandbox_app, account)
    await onboarded(sandbox_app, web, account)
    invoice = await paid_invoice(sandbox_app, web, account, job_id)
    assert invoice["status"] == "paid", invoice
    assert invoice["number"] == "INV-000001"
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    # 1,500.00 less the platform's 5 % is released once the job is complete.
    assert wallet["available_for_withdrawal"] == 1425.0, wallet
    assert wallet["pending"] == 0
    requested = await web.post(
        "/api/v1/payments/payout",
        json={"amount": 500, "method": "bank_transfer"},
        headers=account.headers,
    )
    assert requested.status_code == 202, requested.text
    payout = requested.json()
    assert payout["status"] == "awaiting_approval"
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["available_for_withdrawal"] == 925.0
    wrong = await web.post(
        f"/api/v1/payments/payouts/{payout['payout_id']}/approve",
        json={"password": "not it"},
        headers=account.headers,
    )
    assert wrong.status_code == 403, wrong.text
    approved = await web.post(
        f"/api/v1/payments/payouts/{payout['payout_id']}/approve",
        json={"password": account.password},
        headers=account.headers,
    )
    assert approved.status_code == 200, approved.text
    await sandbox_app.state.tasks.run_due()
    final = (
        await web.get(f"/api/v1/payments/payouts/{payout['payout_id']}", headers=account.headers)
    ).json()
    assert final["status"] == "paid", final
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["balance"] == 925.0, wallet
    me = (await web.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["wallet_balance"] == 925.0
    assert me["lifetime_earnings"] == 1425.0
    async with unit_of_work(sandbox_app.state.database) as session:
        report = await ledger.verify(session)
    assert report.clean, report.problems()
