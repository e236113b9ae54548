"""The payments dashboard: the wallet and its ledger transactions, and the payout account at
the provider (Stripe Connect's hosted onboarding). Invoices and payouts have their own modules
(`pages_payments_invoices`, `pages_payments_payouts`), whose routers this one includes.

Every page calls the same services as the API at /api/v1/payments, inside the request's unit
of work; the two that talk to the provider (starting onboarding, reading the account back on
the return from it) commit the request's transaction first, so none is open across the call.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Form, status
from starlette.responses import Response

from gigforge.kit.errors import GigforgeError
from gigforge.ledger.errors import TransactionNotFound
from gigforge.ledger.kinds import TransactionKind
from gigforge.ledger.service import CurrencyBalance, ledger
from gigforge.payments import accounts, preferences, presenting
from gigforge.web.pages_payments_base import (
    FormProblem,
    base_context,
    can_write,
    forbidden,
    missing,
    platform_of,
    public_url,
)
from gigforge.web.pages_payments_invoices import router as _invoices_router
from gigforge.web.pages_payments_payouts import router as _payouts_router
from gigforge.web.pages_proposals import Page, PostingPage, ReadingPage
from gigforge.web.rendering import DashboardRoute, redirect, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

TRANSACTIONS_PAGE = 20
COUNTRY = re.compile(r"^[A-Za-z]{2}$")
KIND_LABELS = {
    TransactionKind.payment: "Client payment",
    TransactionKind.release: "Released to you",
    TransactionKind.refund: "Refund",
    TransactionKind.dispute: "Dispute",
    TransactionKind.dispute_won: "Dispute won",
    TransactionKind.hold: "Held for a payout",
    TransactionKind.payout: "Payout",
    TransactionKind.release_hold: "Hold released",
    TransactionKind.adjustment: "Adjustment",
}


def _kind(text: str) -> TransactionKind | None:
    try:
        return TransactionKind(text)
    except ValueError:
        return None


def _cursor(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@router.get("/payments")
async def wallet(page: ReadingPage, type: str = "", cursor: str = "") -> Response:
    """Balances per currency from the ledger, and the transactions, newest first."""
    user_id = page.viewer.principal.user_id
    home = (await preferences.of(page.session, user_id)).home_currency
    balances = await ledger.balances(page.session, user_id)
    if not any(balance.currency == home for balance in balances):
        balances = [CurrencyBalance(home), *balances]
    kind = _kind(type)
    after = _cursor(cursor)
    found = await ledger.transactions(
        page.session,
        user_id,
        kinds=(kind,) if kind else (),
        cursor=after,
        limit=TRANSACTIONS_PAGE,
    )
    return render(
        page.request,
        "payments.html",
        {
            **await base_context(page),
            "home_currency": home,
            "balances": balances,
            "transactions": [presenting.transaction(view) for view in found.transactions],
            "next_cursor": found.next_cursor,
            "paged": after is not None,
            "kind": kind.value if kind else "",
            "kind_labels": KIND_LABELS,
        },
    )


@router.get("/payments/transactions/{transaction_id}")
async def transaction(transaction_id: uuid.UUID, page: ReadingPage) -> Response:
    """One transaction's postings: they sum to zero in each currency."""
    try:
        view = await ledger.transaction(page.session, page.viewer.principal.user_id, transaction_id)
    except TransactionNotFound:
        return missing(page, "transaction")
    sums: dict[str, int] = {}
    for posting in view.postings:
        sums[posting.currency] = sums.get(posting.currency, 0) + posting.amount_minor
    return render(
        page.request,
        "payments_transaction.html",
        {
            **await base_context(page),
            "transaction": presenting.transaction(view),
            "postings": view.postings,
            "sums": sums,
            "kind_labels": KIND_LABELS,
        },
    )


async def _account_page(
    page: Page,
    *,
    problem: str | None = None,
    country: str = "US",
    returned: bool = False,
    expired: bool = False,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    platform = platform_of(page)
    row = await accounts.account_of(page.session, page.viewer.principal.user_id)
    return render(
        page.request,
        "payments_account.html",
        {
            **await base_context(page),
            "configured": platform.configured,
            "reason": platform.reason,
            "provider": platform.provider,
            "account": row,
            "problem": problem,
            "country": country,
            "returned": returned,
            "expired": expired,
        },
        status_code=status_code,
    )


@router.get("/payments/account")
async def account(page: ReadingPage, returned: str = "", refresh: str = "") -> Response:
    """The onboarding state; back from the provider's page, the state is read from it."""
    problem = None
    status_code = status.HTTP_200_OK
    platform = platform_of(page)
    if returned and platform.configured:
        # The provider is called with no transaction open.
        await page.session.commit()
        try:
            await accounts.refresh_account(platform, page.viewer.principal.user_id)
        except GigforgeError as exc:
            problem = f"Could not read your account from {platform.provider}: {exc.detail}"
            status_code = exc.status_code
    return await _account_page(
        page,
        problem=problem,
        returned=bool(returned),
        expired=bool(refresh),
        status_code=status_code,
    )


@router.post("/payments/account/connect")
async def connect(
    page: PostingPage, country: Annotated[str, Form(max_length=10)] = "US"
) -> Response:
    """Create the connected account (once) and send the user to the provider's onboarding."""
    if not can_write(page):
        return forbidden(page)
    platform = platform_of(page)
    code = country.strip().upper()
    base = public_url(page)
    try:
        if not COUNTRY.match(code):
            raise FormProblem("The country is a two-letter code, such as US or DE.")
        await page.session.commit()
        onboarding = await accounts.connect(
            platform,
            page.viewer.principal,
            email=page.viewer.principal.user.email,
            country=code,
            refresh_url=f"{base}/payments/account?refresh=1",
            return_url=f"{base}/payments/account?returned=1",
        )
    except GigforgeError as exc:
        return await _account_page(
            page, problem=exc.detail, country=code, status_code=exc.status_code
        )
    return redirect(page.request, onboarding.url)


router.include_router(_invoices_router)
router.include_router(_payouts_router)
