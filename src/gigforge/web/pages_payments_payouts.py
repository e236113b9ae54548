"""Payout pages: request a payout, approve it with the password again (or decline it), the
automatic-payout rule with its caps, and the bank accounts payouts can go to.

A refused request (not enough money, a method the provider does not offer, no payout account)
is shown above the form with everything typed kept. While a payout is on its way the page
polls a small partial and reloads once a payout's state changed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, status
from starlette.responses import Response

from gigforge.kit.errors import GigforgeError
from gigforge.kit.pagination import PageParams, clamp_offset
from gigforge.ledger.service import ledger
from gigforge.payments import accounts, payouts, preferences
from gigforge.payments.models import BankAccountStatus, Payout, PayoutMethod, PayoutStatus
from gigforge.web.pages_payments_base import (
    PAYOUT_BADGES,
    PAYOUT_LABELS,
    POLL_SECONDS,
    FormProblem,
    amount_minor,
    base_context,
    can_write,
    forbidden,
    platform_of,
    undo,
)
from gigforge.web.pages_proposals import Page, PostingPage, ReadingPage
from gigforge.web.rendering import DashboardRoute, redirect, render

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

PAGE_SIZE = 50
IN_FLIGHT = frozenset({PayoutStatus.approved, PayoutStatus.sending, PayoutStatus.in_transit})
METHOD_LABELS = {
    PayoutMethod.bank_transfer: "Bank transfer (standard)",
    PayoutMethod.instant: "Instant",
    PayoutMethod.check: "Check",
}


@dataclass
class RequestForm:
    amount: str = ""
    method: str = PayoutMethod.bank_transfer.value
    bank_account_id: str = ""


@dataclass
class BankForm:
    holder_name: str = ""
    iban: str = ""
    bic: str = ""
    currency: str = ""


def stage(rows: list[Payout]) -> str:
    """The payouts' states; when one changes the polled partial reloads the page."""
    return ".".join(f"{row.id.hex[:8]}-{row.status.value}" for row in rows) or "none"


async def _payouts_page(
    page: Page,
    *,
    offset: int = 0,
    request_form: RequestForm | None = None,
    bank_form: BankForm | None = None,
    rule_form: dict[str, str] | None = None,
    problem: str | None = None,
    problem_for: str = "",
    saved: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    principal = page.viewer.principal
    offset = clamp_offset(offset)
    settings = await preferences.of(page.session, principal.user_id)
    home = settings.home_currency
    rows, total = await payouts.listed(
        page.session, principal, PageParams(limit=PAGE_SIZE, offset=offset)
    )
    banks = await accounts.bank_accounts(page.session, principal)
    context: dict[str, Any] = {
        **await base_context(page),
        "home_currency": home,
        "available": (await ledger.balance(page.session, principal.user_id, home)).available_minor,
        "account": await accounts.account_of(page.session, principal.user_id),
        "payouts": rows,
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "labels": PAYOUT_LABELS,
        "badges": PAYOUT_BADGES,
        "methods": METHOD_LABELS,
        "banks": banks,
        "active_banks": [bank for bank in banks if bank.status is BankAccountStatus.active],
        "form": request_form or RequestForm(),
        "bank_form": bank_form or BankForm(currency=home),
        "rule": settings,
        "rule_form": rule_form,
        "problem": problem,
        "problem_for": problem_for,
        "saved": saved,
        "live": any(row.status in IN_FLIGHT for row in rows),
        "stage": stage(list(rows)),
        "poll_seconds": POLL_SECONDS,
    }
    return render(page.request, "payments_payouts.html", context, status_code=status_code)


@router.get("/payments/payouts")
async def payouts_page(page: ReadingPage, offset: int = 0, saved: str = "") -> Response:
    notes = {
        "rule": "The automatic payout rule is saved.",
        "bank": "The bank account is saved; it is registered with the provider in the background.",
    }
    return await _payouts_page(page, offset=offset, saved=notes.get(saved))


@router.get("/payments/payouts/state")
async def payouts_state(page: ReadingPage, shown: str = "") -> Response:
    """For the polling page: nothing new (204), or a full reload once a payout moved on."""
    rows, _ = await payouts.listed(
        page.session, page.viewer.principal, PageParams(limit=PAGE_SIZE, offset=0)
    )
    if stage(list(rows)) != shown:
        return Response(status_code=status.HTTP_200_OK, headers={"HX-Refresh": "true"})
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/payments/payouts")
async def request_payout(
    page: PostingPage,
    amount: Annotated[str, Form(max_length=40)] = "",
    method: Annotated[str, Form(max_length=40)] = PayoutMethod.bank_transfer.value,
    bank_account_id: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Hold the amount; the payout then waits for approval unless the rule covers it."""
    if not can_write(page):
        return forbidden(page)
    typed = RequestForm(amount=amount, method=method, bank_account_id=bank_account_id)
    principal = page.viewer.principal
    try:
        try:
            chosen = PayoutMethod(method)
        except ValueError:
            raise FormProblem("Choose how the payout is sent.") from None
        currency = (await preferences.of(page.session, principal.user_id)).home_currency
        await payouts.request(
            page.session,
            platform_of(page),
            principal,
            amount_minor=amount_minor(amount, currency),
            currency=currency,
            method=chosen,
            bank_account_ref=bank_account_id.strip() or None,
        )
    except GigforgeError as exc:
        await undo(page, exc)
        return await _payouts_page(
            page,
            request_form=typed,
            problem=exc.detail,
            problem_for="request",
            status_code=exc.status_code,
        )
    return redirect(page.request, "/payments/payouts")


async def _payout_action(page: Page, payout_id: uuid.UUID, act: Any) -> Response:
    if not can_write(page):
        return forbidden(page)
    try:
        await act()
    except GigforgeError as exc:
        await undo(page, exc)
        return await _payouts_page(
            page,
            problem=exc.detail,
            problem_for=str(payout_id),
            status_code=exc.status_code,
        )
    return redirect(page.request, f"/payments/payouts#payout-{payout_id}")


@router.post("/payments/payouts/{payout_id}/approve")
async def approve(
    payout_id: uuid.UUID,
    page: PostingPage,
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The password again is the second factor; the payout is then sent."""

    async def act() -> None:
        await payouts.approve(
            page.session,
            page.viewer.principal,
            payout_id,
            settings=page.settings,
            password=password,
        )

    return await _payout_action(page, payout_id, act)


@router.post("/payments/payouts/{payout_id}/decline")
async def decline(payout_id: uuid.UUID, page: PostingPage) -> Response:
    async def act() -> None:
        await payouts.decline(page.session, page.viewer.principal, payout_id)

    return await _payout_action(page, payout_id, act)


@router.post("/payments/payouts/rule")
async def save_rule(
    page: PostingPage,
    auto_payout_max: Annotated[str, Form(max_length=40)] = "",
    auto_payout_daily_max: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The caps under which a payout is approved without asking; empty (or 0) turns it off."""
    if not can_write(page):
        return forbidden(page)
    typed = {"auto_payout_max": auto_payout_max, "auto_payout_daily_max": auto_payout_daily_max}
    principal = page.viewer.principal
    try:
        currency = (await preferences.of(page.session, principal.user_id)).home_currency
        await preferences.update(
            page.session,
            principal,
            home_currency=None,
            auto_payout_max_minor=(
                amount_minor(auto_payout_max, currency, "The cap of one payout")
                if auto_payout_max.strip()
                else 0
            ),
            auto_payout_daily_max_minor=(
                amount_minor(auto_payout_daily_max, currency, "The daily cap")
                if auto_payout_daily_max.strip()
                else 0
            ),
        )
    except GigforgeError as exc:
        await undo(page, exc)
        return await _payouts_page(
            page,
            rule_form=typed,
            problem=exc.detail,
            problem_for="rule",
            status_code=exc.status_code,
        )
    return redirect(page.request, "/payments/payouts?saved=rule#rule-title")


@router.post("/payments/payouts/bank-accounts")
async def add_bank_account(
    page: PostingPage,
    holder_name: Annotated[str, Form(max_length=200)] = "",
    iban: Annotated[str, Form(max_length=60)] = "",
    bic: Annotated[str, Form(max_length=20)] = "",
    currency: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Checked with schwifty (IBAN checksum and format, BIC) before the provider sees it."""
    if not can_write(page):
        return forbidden(page)
    typed = BankForm(holder_name=holder_name, iban=iban, bic=bic, currency=currency)
    try:
        await accounts.add_bank_account(
            page.session,
            platform_of(page),
            page.viewer.principal,
            holder_name=holder_name,
            iban=iban,
            bic=bic.strip() or None,
            currency=currency,
        )
    except GigforgeError as exc:
        await undo(page, exc)
        return await _payouts_page(
            page,
            bank_form=typed,
            problem=exc.detail,
            problem_for="bank",
            status_code=exc.status_code,
        )
    return redirect(page.request, "/payments/payouts?saved=bank#banks-title")
