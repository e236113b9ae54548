"""Money for the payments tests: a completed job, a finished payout account, a paid invoice."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import FastAPI

from factories import Account
from gigforge.jobs.models import Job
from gigforge.jobs.service import WonWork, jobs
from gigforge.jobs.states import JobStatus
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work


async def completed_job(
    app: FastAPI, account: Account, *, budget_minor: int = 150_000, currency: str = "USD"
) -> str:
    """A job the client accepted as complete (made directly: the jobs tests cover the road)."""
    async with unit_of_work(app.state.database) as session:
        job = await jobs.create(
            session,
            uuid.UUID(account.user_id),
            WonWork(
                platform="upwork",
                source="marked_won",
                title="Landing page copy",
                client_name="Acme Ltd",
                budget_minor=budget_minor,
                currency=currency,
            ),
        )
        row = await session.get(Job, job.id)
        assert row is not None
        row.status = JobStatus.completed
        row.completed_at = utcnow()
        return str(job.id)


async def onboarded(
    app: FastAPI, http: httpx.AsyncClient, account: Account, *, country: str = "US"
) -> dict[str, Any]:
    """Connect the user's Express account and complete the sandbox's hosted onboarding."""
    started = await http.post(
        "/api/v1/payments/connect-stripe", json={"country": country}, headers=account.headers
    )
    assert started.status_code == 200, started.text
    url = started.json()["onboarding_url"]
    page = await http.get(url)
    assert page.status_code == 200, page.text
    number = "000123456789" if country == "US" else "DE89370400440532013000"
    done = await http.post(
        url, data={"business_name": "Ada Lovelace Studio", "account_number": number}
    )
    assert done.status_code == 303, done.text
    state = await http.get("/api/v1/payments/connect-stripe", headers=account.headers)
    assert state.json()["payouts_enabled"] is True, state.text
    return dict(state.json())


async def paid_invoice(
    app: FastAPI, http: httpx.AsyncClient, account: Account, job_id: str
) -> dict[str, Any]:
    """Invoice the job, let the provider's page exist, and have the client pay it."""
    drafted = await http.post(
        "/api/v1/payments/invoices",
        json={"job_id": job_id, "client_email": "client@example.com"},
        headers=account.headers,
    )
    assert drafted.status_code == 201, drafted.text
    invoice_id = drafted.json()["invoice_id"]
    issued = await http.post(
        f"/api/v1/payments/invoices/{invoice_id}/issue", json={}, headers=account.headers
    )
    assert issued.status_code == 200, issued.text
    await app.state.tasks.run_due()
    invoice = (
        await http.get(f"/api/v1/payments/invoices/{invoice_id}", headers=account.headers)
    ).json()
    assert invoice["pay_url"], invoice
    paid = await http.post(invoice["pay_url"].replace("/i/", "/i/", 1), data={})
    assert paid.status_code in (200, 303), paid.text
    await app.state.tasks.run_due()
    return dict(
        (await http.get(f"/api/v1/payments/invoices/{invoice_id}", headers=account.headers)).json()
    )
