"""Invoices: numbered in a series per user, immutable once issued, corrected by credit notes,
with the exchange rate snapshot, a PDF, and bank transfers marked paid by hand."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from factories import register
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.payments import rates
from gigforge.payments.models import ExchangeRate
from payments_support import completed_job, onboarded

INVOICES = "/api/v1/payments/invoices"


def _by_hand(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "client_name": "Globex",
        "client_email": "ap@globex.example",
        "currency": "USD",
        "lines": [
            {"description": "Research", "quantity": 3, "unit_amount": "100.00", "tax_rate": 20},
            {"description": "Report", "quantity": 1, "unit_amount": "250.50"},
        ],
        "method": "manual",
    }
    body.update(changes)
    return body


async def test_totals_numbers_and_immutability(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    drafted = await client.post(INVOICES, json=_by_hand(), headers=account.headers)
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert draft["status"] == "draft"
    assert draft["number"] is None
    second = (await client.post(INVOICES, json=_by_hand(), headers=account.headers)).json()
    # Issued out of creation order: numbers follow the order of issue, with no gaps.
    issued_second = await client.post(
        f"{INVOICES}/{second['invoice_id']}/issue", json={}, headers=account.headers
    )
    issued_first = await client.post(
        f"{INVOICES}/{draft['invoice_id']}/issue", json={}, headers=account.headers
    )
    assert issued_second.json()["number"] == "INV-000001"
    first = issued_first.json()
    assert first["number"] == "INV-000002"
    assert first["subtotal"] == 550.5
    assert first["tax"] == 60.0
    assert first["total"] == 610.5
    assert first["home_total"] == 610.5
    again = await client.post(
        f"{INVOICES}/{draft['invoice_id']}/issue", json={}, headers=account.headers
    )
    assert again.status_code == 409
    deleted = await client.delete(f"{INVOICES}/{draft['invoice_id']}", headers=account.headers)
    assert deleted.status_code == 409
    assert "credit note" in deleted.json()["detail"]
    other = await register(client)
    assert (
        await client.get(f"{INVOICES}/{draft['invoice_id']}", headers=other.headers)
    ).status_code == 404
    own = (await client.post(INVOICES, json=_by_hand(), headers=other.headers)).json()
    mine = await client.post(
        f"{INVOICES}/{own['invoice_id']}/issue", json={}, headers=other.headers
    )
    assert mine.json()["number"] == "INV-000001"  # a series per user


async def test_bad_invoices_are_refused_with_a_reason(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    cases = [
        _by_hand(lines=[]),
        _by_hand(lines=[{"description": "x", "quantity": 1, "unit_amount": "0"}]),
        _by_hand(lines=[{"description": "x", "quantity": 1, "unit_amount": "1.005"}]),
        _by_hand(currency="US"),
        _by_hand(lines=[{"description": "x", "quantity": 0, "unit_amount": "1"}]),
    ]
    for body in cases:
        answer = await client.post(INVOICES, json=body, headers=account.headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    listed = (await client.get(INVOICES, headers=account.headers)).json()
    assert listed["total"] == 0  # nothing half-written


async def test_a_foreign_currency_invoice_snapshots_the_rate(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    drafted = (
        await client.post(INVOICES, json=_by_hand(currency="EUR"), headers=account.headers)
    ).json()
    missing = await client.post(
        f"{INVOICES}/{drafted['invoice_id']}/issue", json={}, headers=account.headers
    )
    assert missing.status_code == 422
    assert "exchange rate" in missing.json()["detail"]
    async with unit_of_work(app.state.database) as session:
        for currency, rate in (("USD", "1.0500"), ("GBP", "0.8400")):
            session.add(
                ExchangeRate(
                    base="EUR",
                    currency=currency,
                    rate=rate,
                    day=utcnow(),
                    source="European Central Bank",
                )
            )
    issued = (
        await client.post(
            f"{INVOICES}/{drafted['invoice_id']}/issue", json={}, headers=account.headers
        )
    ).json()
    assert issued["exchange_rate"] == "1.0500000000"
    assert issued["home_currency"] == "USD"
    assert issued["home_total"] == 641.03  # 610.50 EUR at 1.05, half up
    assert issued["rate_source"].startswith("European Central Bank")
    async with unit_of_work(app.state.database) as session:
        crossed = await rates.rate_for(session, "GBP", "USD")
    assert crossed is not None
    assert str(crossed[0]) == "1.2500000000"


async def test_manual_payment_credit_note_and_pdf(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    drafted = (await client.post(INVOICES, json=_by_hand(), headers=account.headers)).json()
    invoice_id = drafted["invoice_id"]
    await client.post(f"{INVOICES}/{invoice_id}/issue", json={}, headers=account.headers)
    paid = await client.post(
        f"{INVOICES}/{invoice_id}/mark-paid",
        json={"reference": "SEPA-2026-1203"},
        headers=account.headers,
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    wallet = (await client.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["balance"] == 0.0  # paid straight into the user's bank: earned, not held
    me = (await client.get("/api/v1/users/me", headers=account.headers)).json()
    assert me["lifetime_earnings"] == 610.5
    twice = await client.post(
        f"{INVOICES}/{invoice_id}/mark-paid", json={"reference": "again"}, headers=account.headers
    )
    assert twice.status_code == 409
    note = await client.post(
        f"{INVOICES}/{invoice_id}/credit",
        json={"reason": "One research day was not done", "amount": "120.00"},
        headers=account.headers,
    )
    assert note.status_code == 201, note.text
    credit = note.json()
    assert credit["kind"] == "credit_note"
    assert credit["number"] == "CN-000001"
    assert credit["corrects_id"] == invoice_id
    assert credit["total"] == 120.0
    too_much = await client.post(
        f"{INVOICES}/{invoice_id}/credit",
        json={"reason": "more", "amount": "500.00"},
        headers=account.headers,
    )
    assert too_much.status_code == 422
    pdf = await client.get(f"{INVOICES}/{invoice_id}/pdf", headers=account.headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    draft = (await client.post(INVOICES, json=_by_hand(), headers=account.headers)).json()
    no_pdf = await client.get(f"{INVOICES}/{draft['invoice_id']}/pdf", headers=account.headers)
    assert no_pdf.status_code == 409


async def test_an_unpaid_invoice_credited_in_full_is_void_at_the_provider(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    job_id = await completed_job(sandbox_app, account)
    await onboarded(sandbox_app, web, account)
    drafted = (await web.post(INVOICES, json={"job_id": job_id}, headers=account.headers)).json()
    invoice_id = drafted["invoice_id"]
    await web.post(f"{INVOICES}/{invoice_id}/issue", json={}, headers=account.headers)
    await sandbox_app.state.tasks.run_due()
    credited = await web.post(
        f"{INVOICES}/{invoice_id}/credit", json={"reason": "Cancelled"}, headers=account.headers
    )
    assert credited.status_code == 201
    await sandbox_app.state.tasks.run_due()
    invoice = (await web.get(f"{INVOICES}/{invoice_id}", headers=account.headers)).json()
    assert invoice["status"] == "void"
    sandbox = sandbox_app.state.sandboxes["stripe"]
    from gigforge.payments.models import Invoice

    async with unit_of_work(sandbox_app.state.database) as session:
        row = await session.get(Invoice, uuid.UUID(invoice_id))
        assert row is not None
        provider_id = row.provider_invoice_id
    assert sandbox.objects[provider_id]["status"] == "void"


async def test_a_paid_invoice_credited_refunds_the_client(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    from payments_support import paid_invoice

    account = await register(web)
    job_id = await completed_job(sandbox_app, account)
    await onboarded(sandbox_app, web, account)
    invoice = await paid_invoice(sandbox_app, web, account, job_id)
    credited = await web.post(
        f"{INVOICES}/{invoice['invoice_id']}/credit",
        json={"reason": "Goodwill", "amount": "100.00"},
        headers=account.headers,
    )
    assert credited.status_code == 201
    await sandbox_app.state.tasks.run_due()
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["available_for_withdrawal"] == 1325.0  # 1,425.00 less the 100.00 refunded
    listed = (
        await web.get("/api/v1/payments/transactions?type=refund", headers=account.headers)
    ).json()
    assert len(listed["items"]) == 1
    assert listed["items"][0]["amount"] == -100.0
    # The 100.00 had been transferred to the user's account: it is taken back there too.
    sandbox = sandbox_app.state.sandboxes["stripe"]
    transfers = [obj for obj in sandbox.objects.values() if obj.get("object") == "transfer"]
    assert [transfer["amount_reversed"] for transfer in transfers] == [10_000]
