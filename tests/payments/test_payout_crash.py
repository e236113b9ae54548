"""kill -9 of a real `gigforge worker` between the provider's payout call and the recording of
its result: the restarted worker finds the payout the provider already made (by its reference)
instead of making a second one, and the payout is paid once.

The Stripe sandbox is served on a loopback port. While `hang` is set it creates the payout and
then never sends its answer, so the worker dies with the payout made at Stripe and nothing
recorded at home.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from factories import AppFactory, register
from gigforge.integrations.stripe.sandbox import (
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    StripeSandbox,
    create_sandbox,
)
from gigforge.kit.db import unit_of_work
from gigforge.kit.tasks import TaskRow
from gigforge.ledger.models import LedgerTransaction
from gigforge.ledger.service import ledger
from gigforge.payments import accounts
from gigforge.payments.models import Payout, PayoutStatus
from gigforge.payments.payouts import SEND_TASK
from payments_support import completed_job
from test_worker_crash import _served
from workers import start_worker, wait_for

AMQP_URL = os.environ.get("GIGFORGE_TEST_AMQP_URL")
LEASE_SECONDS = 3
WEBHOOK = "/api/v1/payments/webhooks/stripe"


class HangsAfterPayout:
    """The sandbox, except that a payout's answer never leaves while `hang` is set."""

    def __init__(self, sandbox: StripeSandbox) -> None:
        self.app = sandbox.app
        self.hang = False
        self.payouts_made = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        creating = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].endswith("/v1/payouts")
        )
        if not creating or not self.hang:
            await self.app(scope, receive, send)
            return

        async def held(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.payouts_made += 1
                await asyncio.sleep(600)
            await send(message)

        await self.app(scope, receive, held)


async def _deliver(http: httpx.AsyncClient, sandbox: StripeSandbox, start: int) -> int:
    """Post the sandbox's signed events since `start` to the app, as Stripe would."""
    for delivery in sandbox.outbox[start:]:
        answer = await http.post(WEBHOOK, content=delivery.body, headers=delivery.headers)
        assert answer.status_code == 200, answer.text
    return len(sandbox.outbox)


async def test_a_payout_killed_after_the_provider_call_is_paid_once(
    app_factory: AppFactory, database_url: str, tmp_path: Any
) -> None:
    broker_url = None
    if database_url.startswith("postgresql"):
        if not AMQP_URL:
            pytest.skip("GIGFORGE_TEST_AMQP_URL is not set; the PostgreSQL run uses RabbitMQ")
        broker_url = AMQP_URL
    sandbox = create_sandbox()
    sandbox.auto_settle_payouts = False
    stripe = HangsAfterPayout(sandbox)
    with _served(stripe) as port:
        base_url = f"http://127.0.0.1:{port}"
        payments = {
            "payments_base_url": base_url,
            "payments_secret_key": SANDBOX_SECRET_KEY,
            "payments_webhook_secret": SANDBOX_WEBHOOK_SECRET,
        }
        app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{port}"], **payments)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            account = await register(http)
            seen = 0
            # Payouts set up: the hosted onboarding, then the account's state read back.
            started = await http.post(
                "/api/v1/payments/connect-stripe", json={"country": "US"}, headers=account.headers
            )
            assert started.status_code == 200, started.text
            async with httpx.AsyncClient() as browser:
                done = await browser.post(
                    started.json()["onboarding_url"],
                    data={"business_name": "Ada Studio", "account_number": "000123456789"},
                )
            assert done.status_code == 303
            seen = await _deliver(http, sandbox, seen)
            assert await accounts.refresh_account(app.state.payments, uuid.UUID(account.user_id))
            # A paid invoice for a completed job, transferred to the account.
            job_id = await completed_job(app, account)
            drafted = await http.post(
                "/api/v1/payments/invoices", json={"job_id": job_id}, headers=account.headers
            )
            invoice_id = drafted.json()["invoice_id"]
            await http.post(
                f"/api/v1/payments/invoices/{invoice_id}/issue", json={}, headers=account.headers
            )
            await app.state.tasks.run_due()
            invoice = (
                await http.get(f"/api/v1/payments/invoices/{invoice_id}", headers=account.headers)
            ).json()
            async with httpx.AsyncClient() as browser:
                paid = await browser.post(invoice["pay_url"], data={})
            assert paid.status_code in (200, 303)
            seen = await _deliver(http, sandbox, seen)
            await app.state.tasks.run_due()
            wallet = (await http.get("/api/v1/payments/wallet", headers=account.headers)).json()
            assert wallet["available_for_withdrawal"] == 1425.0
            # The payout, approved; a worker process sends it.
            requested = await http.post(
                "/api/v1/payments/payout", json={"amount": 400}, headers=account.headers
            )
            payout_id = requested.json()["payout_id"]
            approved = await http.post(
                f"/api/v1/payments/payouts/{payout_id}/approve",
                json={"password": account.password},
                headers=account.headers,
            )
            assert approved.status_code == 200, approved.text
            stripe.hang = True
            worker_env = {
                "GIGFORGE_PAYMENTS_BASE_URL": base_url,
                "GIGFORGE_PAYMENTS_SECRET_KEY": SANDBOX_SECRET_KEY,
                "GIGFORGE_PAYMENTS_WEBHOOK_SECRET": SANDBOX_WEBHOOK_SECRET,
            }
            first = start_worker(
                app,
                broker_url=broker_url,
                allowed_ports=[port],
                lease_seconds=LEASE_SECONDS,
                log=tmp_path / "first.log",
                env_extra=worker_env,
            )
            try:
                await wait_for(lambda: _holds(stripe.payouts_made == 1), "the payout call")
            finally:
                os.kill(first.pid, signal.SIGKILL)
                first.wait(30)
            stripe.hang = False
            asked_before = len(sandbox.received)
            async with unit_of_work(app.state.database) as session:
                row = await session.get(Payout, uuid.UUID(payout_id))
                assert row is not None
                assert row.status is PayoutStatus.sending  # made at Stripe, not recorded here
                assert row.provider_payout_id is None

            second = start_worker(
                app,
                broker_url=broker_url,
                allowed_ports=[port],
                lease_seconds=LEASE_SECONDS,
                log=tmp_path / "second.log",
                env_extra=worker_env,
            )
            try:

                async def recorded() -> bool:
                    async with unit_of_work(app.state.database) as session:
                        payout = await session.get(Payout, uuid.UUID(payout_id))
                        return payout is not None and payout.status is PayoutStatus.in_transit

                await wait_for(recorded, "the restarted worker to reconcile the payout", within=90)
            finally:
                second.terminate()
                second.wait(30)
            # The restarted run asked Stripe for the payout by its reference before anything else.
            after = [(r.method, r.path) for r in sandbox.received[asked_before:]]
            assert after[0] == ("GET", "/v1/payouts"), after
            # The bank pays it; Stripe says so.
            made = [obj for obj in sandbox.objects.values() if obj.get("object") == "payout"]
            assert len(made) == 1  # one payout at the provider, not two
            await sandbox.settle_payout(made[0]["id"])
            seen = await _deliver(http, sandbox, seen)
            final = (
                await http.get(f"/api/v1/payments/payouts/{payout_id}", headers=account.headers)
            ).json()
            wallet = (await http.get("/api/v1/payments/wallet", headers=account.headers)).json()
    assert final["status"] == "paid"
    assert final["provider_payout_id"] == made[0]["id"]
    assert wallet["balance"] == 1025.0
    async with unit_of_work(app.state.database) as session:
        payouts_posted = await session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.kind == "payout")
        )
        engine_task = (
            await session.execute(select(TaskRow).where(TaskRow.name == SEND_TASK))
        ).scalar_one()
        report = await ledger.verify(session)
    assert payouts_posted == 1
    assert engine_task.attempts == 2
    assert report.clean, report.problems()


async def _holds(value: bool) -> bool:
    return value
