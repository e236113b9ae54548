"""Background money work: a payment waits for its job to complete before it is transferred,
reconciliation finds every difference with the provider, retainers invoice on schedule."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from factories import register
from gigforge.accounts.principal import Principal
from gigforge.jobs.models import Job
from gigforge.jobs.service import WonWork, jobs
from gigforge.jobs.states import JobStatus
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.payments import reconciling, retainers
from gigforge.payments.models import Invoice, Payment, Retainer
from payments_support import onboarded, paid_invoice


async def test_money_waits_for_the_job_to_complete(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await onboarded(sandbox_app, web, account)
    async with unit_of_work(sandbox_app.state.database) as session:
        job = await jobs.create(
            session,
            uuid.UUID(account.user_id),
            WonWork(
                platform="upwork",
                source="marked_won",
                title="Milestone work",
                budget_minor=80_000,
                currency="USD",
                client_name="Initech",
            ),
        )
        job_id = job.id
    await paid_invoice(sandbox_app, web, account, str(job_id))
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["pending"] == 760.0  # 800.00 less the 5 % fee, held until the job is done
    assert wallet["available_for_withdrawal"] == 0.0
    async with unit_of_work(sandbox_app.state.database) as session:
        row = await session.get(Job, job_id)
        assert row is not None
        row.status = JobStatus.delivered
    async with unit_of_work(sandbox_app.state.database) as session:
        from gigforge.accounts.models import User

        user = await session.get(User, uuid.UUID(account.user_id))
        assert user is not None
        await jobs.complete(session, Principal(user=user, scopes=frozenset()), job_id=job_id)
    await sandbox_app.state.tasks.run_due()
    wallet = (await web.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert wallet["pending"] == 0.0
    assert wallet["available_for_withdrawal"] == 760.0
    async with unit_of_work(sandbox_app.state.database) as session:
        [payment] = (await session.execute(select(Payment))).scalars().all()
    sandbox = sandbox_app.state.sandboxes["stripe"]
    transfer = sandbox.objects[payment.transfer_id]
    assert transfer["transfer_group"] == str(job_id)
    assert transfer["amount"] == 76_000


async def test_reconciliation_is_clean_then_reports_each_difference(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    from payments_support import completed_job

    account = await register(web)
    job_id = await completed_job(sandbox_app, account)
    await onboarded(sandbox_app, web, account)
    await paid_invoice(sandbox_app, web, account, job_id)
    platform = sandbox_app.state.payments
    clean = await reconciling.reconcile(platform)
    assert clean.error is None
    assert clean.checked >= 2  # the charge and the transfer at least
    # The sandbox's account starts with charges of its own, made outside Gigforge: they are
    # reported (the platform account holds money the ledger does not know), and only they.
    seeded = set(sandbox_app.state.sandboxes["stripe"].seeded_payment_intents)
    assert {d["kind"] for d in clean.differences} <= {"charge_missing_in_ledger"}
    assert {d["detail"].split()[2] for d in clean.differences} <= _charges_of(sandbox_app, seeded)
    # The ledger loses track of a refund, and records a payment Stripe never saw.
    async with unit_of_work(sandbox_app.state.database) as session:
        [payment] = (await session.execute(select(Payment))).scalars().all()
        payment.refunded_minor = 5_000
        invoice = (await session.execute(select(Invoice))).scalars().first()
        assert invoice is not None
        session.add(
            Payment(
                user_id=payment.user_id,
                invoice_id=invoice.id,
                provider="stripe",
                provider_payment_id="pi_not_at_stripe",
                currency="USD",
                amount_minor=1_000,
                platform_fee_minor=50,
                status=payment.status,
                transfer_status=payment.transfer_status.__class__("not_needed"),
            )
        )
    found = await reconciling.reconcile(platform)
    kinds = sorted(
        difference["kind"]
        for difference in found.differences
        if difference["kind"] != "charge_missing_in_ledger"
    )
    assert kinds == ["payment_missing_at_provider", "refund_total"], found.differences
    listed = await reconciling.latest(platform)
    assert listed[0].id == found.id


async def test_a_retainer_invoices_every_period_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    made = await client.post(
        "/api/v1/payments/retainers",
        json={
            "client_name": "Umbrella",
            "description": "Monthly maintenance",
            "currency": "USD",
            "amount": "400.00",
            "interval": "month",
            "method": "manual",
            "starts_at": (utcnow() - timedelta(days=40)).isoformat(),
        },
        headers=account.headers,
    )
    assert made.status_code == 201, made.text
    issued = await retainers.issue_due(app.state.database)
    assert issued == 2  # the period 40 days ago and the one 10 days ago
    assert await retainers.issue_due(app.state.database) == 0
    listed = (await client.get("/api/v1/payments/invoices", headers=account.headers)).json()
    assert [item["status"] for item in listed["items"]] == ["issued", "issued"]
    assert {item["total"] for item in listed["items"]} == {400.0}
    async with unit_of_work(app.state.database) as session:
        [retainer] = (await session.execute(select(Retainer))).scalars().all()
        assert retainer.issued_count == 2
        assert retainer.next_run_at > utcnow()


def _charges_of(app: FastAPI, intents: set[str]) -> set[str]:
    sandbox = app.state.sandboxes["stripe"]
    return {
        str(obj["id"])
        for obj in sandbox.objects.values()
        if obj.get("object") == "charge" and obj.get("payment_intent") in intents
    }


def test_months_keep_their_day_or_the_last_one() -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 1, 31, 9, tzinfo=UTC)
    assert retainers.advance(start, "month", 1) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert retainers.advance(start, "month", 12) == datetime(2027, 1, 31, 9, tzinfo=UTC)
    assert retainers.advance(start, "year", 1) == datetime(2027, 1, 31, 9, tzinfo=UTC)
    assert retainers.advance(start, "week", 2) == datetime(2026, 2, 14, 9, tzinfo=UTC)
