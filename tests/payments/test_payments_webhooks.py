"""Stripe's webhooks applied to the ledger exactly once, and in any order.

The sandbox signs every event the way Stripe does; each test first checks that signature with
the official `stripe` library, then posts the deliveries to Gigforge's endpoint twice, or out
of order, and looks at the ledger."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import stripe
from fastapi import FastAPI
from sqlalchemy import func, select

from factories import register
from gigforge.integrations.stripe.sandbox import SANDBOX_WEBHOOK_SECRET, WebhookDelivery
from gigforge.kit.db import unit_of_work
from gigforge.ledger.models import LedgerTransaction
from gigforge.ledger.service import ledger
from gigforge.payments.models import Invoice
from payments_support import completed_job, onboarded

WEBHOOK = "/api/v1/payments/webhooks/stripe"


def _verified(delivery: WebhookDelivery) -> dict[str, Any]:
    """The delivery as Stripe's own library reads it: it raises unless the signature holds."""
    event = stripe.Webhook.construct_event(
        delivery.body.decode(), delivery.headers["Stripe-Signature"], SANDBOX_WEBHOOK_SECRET
    )
    assert event["id"] == json.loads(delivery.body)["id"]
    return dict(json.loads(delivery.body))


async def _issued(app: FastAPI, http: httpx.AsyncClient) -> tuple[Any, str, str]:
    """A user with payouts set up and an issued invoice for a completed job; webhooks off."""
    account = await register(http)
    job_id = await completed_job(app, account)
    await onboarded(app, http, account)
    drafted = await http.post(
        "/api/v1/payments/invoices", json={"job_id": job_id}, headers=account.headers
    )
    invoice_id = drafted.json()["invoice_id"]
    await http.post(
        f"/api/v1/payments/invoices/{invoice_id}/issue", json={}, headers=account.headers
    )
    await app.state.tasks.run_due()
    sandbox = app.state.sandboxes["stripe"]
    sandbox.webhook_target = None  # the test delivers, in the order it chooses
    async with unit_of_work(app.state.database) as session:
        row = await session.get(Invoice, uuid.UUID(invoice_id))
        assert row is not None
        assert row.provider_invoice_id
        return account, invoice_id, row.provider_invoice_id


async def _post(http: httpx.AsyncClient, delivery: WebhookDelivery) -> httpx.Response:
    return await http.post(WEBHOOK, content=delivery.body, headers=delivery.headers)


async def _count(app: FastAPI, kind: str) -> int:
    async with unit_of_work(app.state.database) as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == kind)
            )
            or 0
        )


async def _verify(app: FastAPI) -> None:
    async with unit_of_work(app.state.database) as session:
        report = await ledger.verify(session)
    assert report.clean, report.problems()


async def test_a_payment_delivered_twice_posts_once(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account, invoice_id, provider_invoice = await _issued(sandbox_app, web)
    sandbox = sandbox_app.state.sandboxes["stripe"]
    start = len(sandbox.outbox)
    await sandbox.pay_invoice(provider_invoice)
    deliveries = sandbox.outbox[start:]
    types = [_verified(delivery)["type"] for delivery in deliveries]
    assert "invoice.paid" in types
    assert "payment_intent.succeeded" in types
    for _ in range(2):
        for delivery in deliveries:
            answer = await _post(web, delivery)
            assert answer.status_code == 200, answer.text
    assert await _count(sandbox_app, "payment") == 1
    await sandbox_app.state.tasks.run_due()
    assert await _count(sandbox_app, "release") == 1
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["available_for_withdrawal"] == 1425.0
    invoice = (
        await web.get(f"/api/v1/payments/invoices/{invoice_id}", headers=account.headers)
    ).json()
    assert invoice["status"] == "paid"
    assert invoice["amount_paid"] == 1500.0
    await _verify(sandbox_app)


async def test_events_out_of_order_post_once_each(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    """The refund arrives before the payment it refunds, and the invoice's events backwards."""
    account, _, provider_invoice = await _issued(sandbox_app, web)
    sandbox = sandbox_app.state.sandboxes["stripe"]
    start = len(sandbox.outbox)
    paid = await sandbox.pay_invoice(provider_invoice)
    intent = paid.get("payment_intent") or _payment_of(sandbox, provider_invoice)
    await sandbox.refund_payment(intent, 30_000)
    deliveries = sandbox.outbox[start:]
    for delivery in reversed(deliveries):
        _verified(delivery)
        answer = await _post(web, delivery)
        assert answer.status_code == 200, answer.text
    assert await _count(sandbox_app, "payment") == 1
    assert await _count(sandbox_app, "refund") == 1
    for delivery in deliveries:  # and all of them again, in order
        await _post(web, delivery)
    assert await _count(sandbox_app, "payment") == 1
    assert await _count(sandbox_app, "refund") == 1
    await sandbox_app.state.tasks.run_due()
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    # 1,425.00 net, less the 300.00 refunded before the transfer: 1,125.00 moves.
    assert wallet["balance"] == 1125.0, wallet
    assert wallet["available_for_withdrawal"] == 1125.0
    await _verify(sandbox_app)


async def test_a_dispute_takes_the_money_and_a_won_one_gives_it_back(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account, _, provider_invoice = await _issued(sandbox_app, web)
    sandbox = sandbox_app.state.sandboxes["stripe"]
    start = len(sandbox.outbox)
    paid = await sandbox.pay_invoice(provider_invoice)
    intent = paid.get("payment_intent") or _payment_of(sandbox, provider_invoice)
    for delivery in sandbox.outbox[start:]:
        await _post(web, delivery)
    await sandbox_app.state.tasks.run_due()
    start = len(sandbox.outbox)
    dispute = await sandbox.open_dispute(intent)
    for delivery in sandbox.outbox[start:]:
        await _post(web, delivery)
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    # The whole 1,500.00 was disputed; 1,425.00 was available: 75.00 is owed.
    assert wallet["available_for_withdrawal"] == 0.0, wallet
    assert wallet["currencies"][0]["owed"] == 75.0
    start = len(sandbox.outbox)
    await sandbox.close_dispute(dispute["id"], won=True)
    for delivery in sandbox.outbox[start:]:
        await _post(web, delivery)
    assert await _count(sandbox_app, "dispute") == 1
    assert await _count(sandbox_app, "dispute_won") == 1
    await _verify(sandbox_app)


async def test_a_forged_or_stale_event_is_refused_and_changes_nothing(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    _, _, provider_invoice = await _issued(sandbox_app, web)
    sandbox = sandbox_app.state.sandboxes["stripe"]
    start = len(sandbox.outbox)
    await sandbox.pay_invoice(provider_invoice)
    delivery = sandbox.outbox[start]
    forged = await web.post(
        WEBHOOK,
        content=delivery.body.replace(b'"livemode": false', b'"livemode": true'),
        headers=delivery.headers,
    )
    assert forged.status_code == 400
    assert forged.headers["content-type"].startswith("application/problem+json")
    unsigned = await web.post(WEBHOOK, content=delivery.body)
    assert unsigned.status_code == 400
    other = await web.post(
        "/api/v1/payments/webhooks/paypal", content=delivery.body, headers=delivery.headers
    )
    assert other.status_code == 400
    assert await _count(sandbox_app, "payment") == 0


def _payment_of(sandbox: Any, invoice_id: str) -> str:
    invoice = sandbox.objects[invoice_id]
    payments = invoice.get("payments", {}).get("data", [])
    intent = payments[0]["payment"]["payment_intent"] if payments else invoice["payment_intent"]
    return str(intent)
