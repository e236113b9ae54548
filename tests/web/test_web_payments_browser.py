"""The money road in headless Chromium against `gigforge serve --sandbox` with its embedded
worker: set up payouts on the Stripe sandbox's hosted onboarding, invoice a completed job,
pay it on the sandbox's hosted invoice page, see the wallet move, withdraw with the password
and see the payout paid. Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh
docs/screenshots/payments-account.png, payments-invoice.png, payments-wallet.png and
payments-payouts.png."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from test_web_browser import (
    EMAIL,
    PASSWORD,
    Server,
    _assert_accessible,
    _browser_page,
    _shots,
    _sign_in,
    sync_api,
)

from factories import Account
from gigforge.kit.db import Database
from payments_support import completed_job
from serving import serving

# Background work (the provider's page, the transfer, the payout) runs in the served process.
WORK_TIMEOUT_MS = 60_000


@pytest.fixture
def working_server(tmp_path: Path) -> Iterator[Server]:
    with serving(tmp_path, "--sandbox", EMBEDDED_WORKER="true") as served:
        yield served


def _register(server: Server) -> Account:
    registered = httpx.post(
        f"{server.base}/api/v1/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "full_name": "Ada Lovelace"},
    )
    assert registered.status_code == 201, registered.text
    body = registered.json()
    return Account(body["user_id"], EMAIL, PASSWORD, body["access_token"], body["refresh_token"])


def _completed_job(server: Server, account: Account) -> None:
    """A job the client accepted as complete, written to the served database."""

    async def main() -> None:
        app = FastAPI()
        data_dir = Path(server.env["GIGFORGE_DATA_DIR"])
        app.state.database = Database.from_url(f"sqlite+aiosqlite:///{data_dir / 'gigforge.db'}")
        try:
            await completed_job(app, account)
        finally:
            await app.state.database.dispose()

    asyncio.run(main())


def _reload_until(page: Any, locator: Any, text: str) -> None:
    """A page that does not follow the background by itself: reload it until it shows `text`."""
    deadline = time.monotonic() + WORK_TIMEOUT_MS / 1000
    while True:
        try:
            sync_api.expect(locator).to_have_text(text, timeout=1_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.reload()


def test_onboard_invoice_pay_and_withdraw_in_chromium(
    working_server: Server, tmp_path: Path
) -> None:
    server = working_server
    shots = _shots(tmp_path)
    account = _register(server)
    _completed_job(server, account)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Payments").click()
        sync_api.expect(page.get_by_text("No transactions yet.")).to_be_visible()

        # Payouts are set up on the provider's own onboarding page, then back here.
        page.get_by_role("navigation", name="Payments").get_by_role(
            "link", name="Payout account"
        ).click()
        page.get_by_role("button", name="Set up payouts").click()
        page.wait_for_url(re.compile(r".*/sandbox/stripe/connect/onboarding/.*"))
        page.get_by_label("Business name").fill("Ada Lovelace Studio")
        page.get_by_label(re.compile("Bank account for payouts")).fill("000123456789")
        page.get_by_role("button", name="Complete onboarding").click()
        page.wait_for_url(f"{server.base}/payments/account?returned=1")
        sync_api.expect(page.get_by_text("Your payout account is ready")).to_be_visible()
        sync_api.expect(page.locator(".state-payouts")).to_have_text("Yes")
        page.screenshot(path=str(shots / "payments-account.png"), full_page=True)
        _assert_accessible(page)

        # An invoice for the completed job, issued; its payment page is made in the background.
        page.get_by_role("navigation", name="Payments").get_by_role("link", name="Invoices").click()
        from_job = page.locator("section", has=page.get_by_role("heading", name="From a job"))
        sync_api.expect(from_job.get_by_label("Job", exact=True)).to_contain_text(
            "Landing page copy"
        )
        _assert_accessible(page)
        from_job.get_by_role("button", name="Draft the invoice").click()
        page.wait_for_url(re.compile(r".*/payments/invoices/[0-9a-f-]{36}$"))
        invoice_url = page.url
        sync_api.expect(page.get_by_text("USD 1,500.00").first).to_be_visible()
        page.get_by_role("button", name="Issue", exact=True).click()
        pay = page.get_by_role("link", name="Open payment page")
        sync_api.expect(pay).to_be_visible(timeout=WORK_TIMEOUT_MS)
        sync_api.expect(page.get_by_role("heading", name="Invoice INV-000001")).to_be_visible()

        # The client pays on the provider's hosted invoice page.
        pay.click()
        page.wait_for_url(re.compile(r".*/sandbox/stripe/i/.*"))
        page.get_by_role("button", name="Pay 1500.00 USD").click()
        sync_api.expect(page.get_by_text("Paid", exact=True)).to_be_visible()
        page.goto(f"{invoice_url}?paid=1")
        sync_api.expect(page.get_by_text("Payment received")).to_be_visible(timeout=WORK_TIMEOUT_MS)
        sync_api.expect(page.locator(".state .badge")).to_have_text("Paid")
        sync_api.expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
        page.screenshot(path=str(shots / "payments-invoice.png"), full_page=True)
        _assert_accessible(page)

        # 1,500.00 less the platform's 5 %, released once the transfer to the user is made.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Payments").click()
        _reload_until(page, page.locator("#wallet-USD .balance-available"), "USD 1,425.00")
        sync_api.expect(page.locator("#wallet-USD .balance-fees")).to_have_text("USD 75.00")
        page.screenshot(path=str(shots / "payments-wallet.png"), full_page=True)
        _assert_accessible(page)

        # A payout of 500, approved with the password; the page follows it until it is paid.
        page.get_by_role("link", name="Withdraw").click()
        page.get_by_label("Amount").fill("500")
        page.get_by_role("button", name="Request the payout").click()
        payout = page.locator("li.payout").first
        sync_api.expect(payout.locator(".badge")).to_have_text("Waiting for your approval")
        payout.get_by_label("Your password, to approve").fill("not it")
        payout.get_by_role("button", name="Approve").click()
        sync_api.expect(page.get_by_text("The password is not right")).to_be_visible()
        payout = page.locator("li.payout").first
        payout.get_by_label("Your password, to approve").fill(PASSWORD)
        payout.get_by_role("button", name="Approve").click()
        sync_api.expect(page.locator("li.payout").first.locator(".badge")).to_have_text(
            "Paid", timeout=WORK_TIMEOUT_MS
        )
        page.screenshot(path=str(shots / "payments-payouts.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("navigation", name="Payments").get_by_role("link", name="Wallet").click()
        _reload_until(page, page.locator("#wallet-USD .balance-total"), "USD 925.00")
        sync_api.expect(page.locator("#wallet-USD .balance-available")).to_have_text("USD 925.00")

    # The wrong password is answered 403 by design; nothing else failed.
    assert [error for error in errors if "/approve" not in error] == [], errors
