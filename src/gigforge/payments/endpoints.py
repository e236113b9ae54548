"""Routes: /payments (seed 002's wallet, payout, transactions and connect-stripe paths, and
invoices, bank accounts, retainers and settings), and the provider's signed webhook."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken, WrongPassword
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.integrations.framework import IntegrationError
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import Unauthorized, ValidationFailed
from gigforge.kit.money import InvalidAmount, parse_major_units
from gigforge.kit.pagination import PageParamsDep
from gigforge.kit.problems import problem_responses
from gigforge.ledger.errors import InsufficientFunds, TransactionNotFound
from gigforge.ledger.kinds import TransactionKind
from gigforge.ledger.service import ledger
from gigforge.payments import accounts, payouts, preferences, presenting, retainers
from gigforge.payments import profile as _profile  # noqa: F401 - registers /users/me facts
from gigforge.payments.collecting import apply_event
from gigforge.payments.documents import invoice_pdf
from gigforge.payments.errors import (
    BankAccountNotFound,
    InvalidBankAccount,
    InvalidInvoice,
    InvalidInvoiceState,
    InvalidPayoutState,
    InvoiceNotEditable,
    InvoiceNotFound,
    PaymentsNotConfigured,
    PayoutAccountMissing,
    PayoutMethodUnsupported,
    PayoutNotFound,
    WebhookRejected,
)
from gigforge.payments.invoices import LineInput, invoices
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.schemas import (
    BankAccountCreate,
    BankAccountRead,
    ConnectStripe,
    InvoiceCreate,
    InvoiceCredit,
    InvoiceIssue,
    InvoicePage,
    InvoicePaid,
    InvoiceRead,
    PaymentSettingsRead,
    PaymentSettingsUpdate,
    PayoutAccountRead,
    PayoutApprove,
    PayoutCreate,
    PayoutPage,
    PayoutRead,
    RetainerCreate,
    RetainerRead,
    TransactionPage,
    TransactionRead,
    WalletRead,
    WebhookAck,
)

router = APIRouter(prefix="/payments", tags=["payments"])
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
Reader = Annotated[Principal, RequireScope(Scope.payments_read)]
Writer = Annotated[Principal, RequireScope(Scope.payments_write)]


def platform_of(request: Request) -> PaymentsPlatform:
    platform: PaymentsPlatform = request.app.state.payments
    return platform


def minor(amount: Decimal | None, currency: str) -> int:
    if amount is None:
        raise ValidationFailed("Give an amount")
    try:
        return parse_major_units(amount, currency)
    except InvalidAmount as exc:
        raise ValidationFailed(str(exc)) from None


def _percent_bps(rate: Decimal) -> int:
    bps = rate * 100
    if bps != bps.to_integral_value():
        raise ValidationFailed("A tax rate has at most two decimals (20.5 %)")
    return int(bps)


# Wallet and ledger


@router.get("/wallet", response_model=WalletRead, responses=problem_responses(*_AUTHENTICATED))
async def wallet(session: SessionDep, principal: Reader) -> WalletRead:
    """Balances from the ledger: `balance` is everything that is yours, `pending` what
    clients paid that is not released yet, `available_for_withdrawal` what a payout can take."""
    settings = await preferences.of(session, principal.user_id)
    balances = await ledger.balances(session, principal.user_id)
    return presenting.wallet(balances, settings.home_currency)


@router.get(
    "/transactions", response_model=TransactionPage, responses=problem_responses(*_AUTHENTICATED)
)
async def transactions(
    session: SessionDep,
    principal: Reader,
    type_: Annotated[list[TransactionKind] | None, Query(alias="type")] = None,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
    since: Annotated[datetime | None, Query(description="At or after this time")] = None,
    until: Annotated[datetime | None, Query(description="At or before this time")] = None,
    cursor: Annotated[uuid.UUID | None, Query(description="`next_cursor` of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TransactionPage:
    """Your ledger transactions, newest first."""
    page = await ledger.transactions(
        session,
        principal.user_id,
        kinds=type_ or (),
        currency=currency.upper() if currency else None,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return TransactionPage(
        items=[presenting.transaction(view) for view in page.transactions],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/transactions/{transaction_id}",
    response_model=TransactionRead,
    responses=problem_responses(*_AUTHENTICATED, TransactionNotFound),
)
async def transaction(
    transaction_id: uuid.UUID, session: SessionDep, principal: Reader
) -> TransactionRead:
    """One transaction with its postings (they sum to zero per currency)."""
    view = await ledger.transaction(session, principal.user_id, transaction_id)
    return presenting.transaction(view, with_postings=True)


# Payouts


@router.post(
    "/payout",
    response_model=PayoutRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(
        *_AUTHENTICATED,
        InsufficientFunds,
        PayoutMethodUnsupported,
        PayoutAccountMissing,
        BankAccountNotFound,
        InvalidPayoutState,
        PaymentsNotConfigured,
    ),
)
async def request_payout(
    body: PayoutCreate, request: Request, session: SessionDep, principal: Writer
) -> PayoutRead:
    """Withdraw: the amount is held at once; the payout waits for your approval (your
    password again) unless your automatic-payout rule covers it."""
    settings = await preferences.of(session, principal.user_id)
    currency = body.currency or settings.home_currency
    payout = await payouts.request(
        session,
        platform_of(request),
        principal,
        amount_minor=minor(body.amount, currency),
        currency=currency,
        method=body.method,
        bank_account_ref=body.bank_account_id,
    )
    return presenting.payout(payout)


@router.get("/payouts", response_model=PayoutPage, responses=problem_responses(*_AUTHENTICATED))
async def list_payouts(session: SessionDep, principal: Reader, page: PageParamsDep) -> PayoutPage:
    rows, total = await payouts.listed(session, principal, page)
    return PayoutPage(
        items=[presenting.payout(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/payouts/{payout_id}",
    response_model=PayoutRead,
    responses=problem_responses(*_AUTHENTICATED, PayoutNotFound),
)
async def get_payout(payout_id: uuid.UUID, session: SessionDep, principal: Reader) -> PayoutRead:
    return presenting.payout(await payouts.get(session, principal, payout_id))


@router.post(
    "/payouts/{payout_id}/approve",
    response_model=PayoutRead,
    responses=problem_responses(*_AUTHENTICATED, PayoutNotFound, InvalidPayoutState, WrongPassword),
)
async def approve_payout(
    payout_id: uuid.UUID,
    body: PayoutApprove,
    session: SessionDep,
    settings: SettingsDep,
    principal: Writer,
) -> PayoutRead:
    """Approve with your password (the second factor); the payout is then sent."""
    payout = await payouts.approve(
        session, principal, payout_id, settings=settings, password=body.password
    )
    return presenting.payout(payout)


@router.post(
    "/payouts/{payout_id}/decline",
    response_model=PayoutRead,
    responses=problem_responses(*_AUTHENTICATED, PayoutNotFound, InvalidPayoutState),
)
async def decline_payout(
    payout_id: uuid.UUID, session: SessionDep, principal: Writer
) -> PayoutRead:
    """Decline: the held amount is available again."""
    return presenting.payout(await payouts.decline(session, principal, payout_id))


# The payout account (Stripe Connect) and bank accounts


def _account_read(row: object, url: str | None = None) -> PayoutAccountRead:
    read = PayoutAccountRead.model_validate(row)
    return read.model_copy(update={"onboarding_url": url})


@router.post(
    "/connect-stripe",
    response_model=PayoutAccountRead,
    responses=problem_responses(*_AUTHENTICATED, PaymentsNotConfigured, IntegrationError),
)
async def connect_stripe(
    body: ConnectStripe, request: Request, session: SessionDep, principal: Writer
) -> PayoutAccountRead:
    """Create your Express account at the provider (once) and a fresh onboarding link."""
    settings = request.app.state.settings
    back = body.return_url or f"{settings.public_url.rstrip('/')}/payments/account?returned=1"
    # The provider is called with no transaction open.
    await session.commit()
    onboarding = await accounts.connect(
        platform_of(request),
        principal,
        email=principal.user.email,
        country=body.country,
        refresh_url=f"{settings.public_url.rstrip('/')}/payments/account?refresh=1",
        return_url=back,
    )
    return _account_read(onboarding.account, onboarding.url)


@router.get(
    "/connect-stripe",
    response_model=PayoutAccountRead,
    responses=problem_responses(*_AUTHENTICATED, PayoutAccountMissing),
)
async def payout_account(session: SessionDep, principal: Reader) -> PayoutAccountRead:
    """The state of your onboarding at the provider."""
    row = await accounts.account_of(session, principal.user_id)
    if row is None:
        raise PayoutAccountMissing("No payout account yet: POST /payments/connect-stripe")
    return _account_read(row)


@router.get(
    "/bank-accounts",
    response_model=list[BankAccountRead],
    responses=problem_responses(*_AUTHENTICATED),
)
async def list_bank_accounts(session: SessionDep, principal: Reader) -> list[BankAccountRead]:
    return [
        BankAccountRead.model_validate(row)
        for row in await accounts.bank_accounts(session, principal)
    ]


@router.post(
    "/bank-accounts",
    response_model=BankAccountRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, InvalidBankAccount, PayoutAccountMissing),
)
async def add_bank_account(
    body: BankAccountCreate, request: Request, session: SessionDep, principal: Writer
) -> BankAccountRead:
    """Register a bank account (IBAN and BIC checked); the provider gets it in the
    background, and only its last four digits are kept."""
    row = await accounts.add_bank_account(
        session,
        platform_of(request),
        principal,
        holder_name=body.holder_name,
        iban=body.iban,
        bic=body.bic,
        currency=body.currency,
    )
    return BankAccountRead.model_validate(row)


# Invoices


async def _invoice_read(session: SessionDep, row: object) -> InvoiceRead:
    from gigforge.payments.models import Invoice

    assert isinstance(row, Invoice)
    return presenting.invoice(row, await invoices.lines(session, row))


def _lines(body: InvoiceCreate, currency: str) -> list[LineInput] | None:
    if body.lines is None:
        return None
    return [
        LineInput(
            description=line.description,
            quantity=line.quantity,
            unit_amount_minor=minor(line.unit_amount, currency) if line.unit_amount else 0,
            tax_rate_bps=_percent_bps(line.tax_rate),
        )
        for line in body.lines
    ]


@router.post(
    "/invoices",
    response_model=InvoiceRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, InvalidInvoice, InvalidInvoiceState),
)
async def create_invoice(
    body: InvoiceCreate, session: SessionDep, principal: Writer
) -> InvoiceRead:
    """A draft invoice: from a job (one line at its budget, or `amount` for a milestone, or
    your `lines`), or from scratch."""
    if body.job_id is not None and body.lines is None:
        job_currency = body.currency
        row = await invoices.from_job(
            session,
            principal,
            job_id=body.job_id,
            milestone=body.milestone,
            amount_minor=minor(body.amount, job_currency or "USD") if body.amount else None,
            tax_rate_bps=_percent_bps(body.tax_rate),
            method=body.method,
            client_email=str(body.client_email) if body.client_email else None,
        )
    else:
        currency = body.currency or await invoices.home_currency(session, principal.user_id)
        if body.client_name is None:
            raise ValidationFailed("Name the client (`client_name`)")
        row = await invoices.create(
            session,
            principal,
            client_name=body.client_name,
            client_email=str(body.client_email) if body.client_email else None,
            currency=currency,
            lines=_lines(body, currency) or [],
            job_id=body.job_id,
            milestone=body.milestone,
            memo=body.memo,
            days_until_due=body.days_until_due,
            method=body.method,
        )
    return await _invoice_read(session, row)


@router.get("/invoices", response_model=InvoicePage, responses=problem_responses(*_AUTHENTICATED))
async def list_invoices(
    session: SessionDep,
    principal: Reader,
    page: PageParamsDep,
    job_id: uuid.UUID | None = None,
) -> InvoicePage:
    rows, total = await invoices.list(session, principal, page, job_id=job_id)
    return InvoicePage(
        items=[presenting.invoice(row) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceRead,
    responses=problem_responses(*_AUTHENTICATED, InvoiceNotFound),
)
async def get_invoice(invoice_id: uuid.UUID, session: SessionDep, principal: Reader) -> InvoiceRead:
    return await _invoice_read(session, await invoices.get(session, principal, invoice_id))


@router.delete(
    "/invoices/{invoice_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_AUTHENTICATED, InvoiceNotFound, InvoiceNotEditable),
)
async def delete_invoice(invoice_id: uuid.UUID, session: SessionDep, principal: Writer) -> None:
    """Delete a draft; an issued invoice is corrected with a credit note instead."""
    await invoices.delete_draft(session, principal, invoice_id)


@router.post(
    "/invoices/{invoice_id}/issue",
    response_model=InvoiceRead,
    responses=problem_responses(
        *_AUTHENTICATED, InvoiceNotFound, InvalidInvoiceState, InvalidInvoice
    ),
)
async def issue_invoice(
    invoice_id: uuid.UUID, body: InvoiceIssue, session: SessionDep, principal: Writer
) -> InvoiceRead:
    """Number it and make it final; the provider's payment page follows in the background."""
    row = await invoices.issue(
        session, principal, invoice_id, exchange_rate=body.exchange_rate, send=body.send
    )
    return await _invoice_read(session, row)


@router.post(
    "/invoices/{invoice_id}/credit",
    response_model=InvoiceRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(
        *_AUTHENTICATED, InvoiceNotFound, InvalidInvoiceState, InvalidInvoice
    ),
)
async def credit_invoice(
    invoice_id: uuid.UUID, body: InvoiceCredit, session: SessionDep, principal: Writer
) -> InvoiceRead:
    """Issue a credit note: voids an unpaid invoice credited in full, refunds a paid one."""
    original = await invoices.get(session, principal, invoice_id)
    note = await invoices.credit(
        session,
        principal,
        invoice_id,
        reason=body.reason,
        amount_minor=minor(body.amount, original.currency) if body.amount else None,
    )
    return await _invoice_read(session, note)


@router.post(
    "/invoices/{invoice_id}/mark-paid",
    response_model=InvoiceRead,
    responses=problem_responses(*_AUTHENTICATED, InvoiceNotFound, InvalidInvoiceState),
)
async def mark_invoice_paid(
    invoice_id: uuid.UUID, body: InvoicePaid, session: SessionDep, principal: Writer
) -> InvoiceRead:
    """The client paid by bank transfer: record it (the money is already in your bank)."""
    row = await invoices.mark_paid(session, principal, invoice_id, reference=body.reference)
    return await _invoice_read(session, row)


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        **problem_responses(*_AUTHENTICATED, InvoiceNotFound, InvalidInvoiceState),
    },
)
async def invoice_document(
    invoice_id: uuid.UUID, session: SessionDep, principal: Reader
) -> Response:
    row = await invoices.get(session, principal, invoice_id)
    if row.number is None:
        raise InvalidInvoiceState("A draft has no PDF yet; issue it first")
    content = await invoice_pdf(session, principal, row)
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{row.number}.pdf"'},
    )


# Retainers and settings


@router.get(
    "/retainers", response_model=list[RetainerRead], responses=problem_responses(*_AUTHENTICATED)
)
async def list_retainers(session: SessionDep, principal: Reader) -> list[RetainerRead]:
    return [presenting.retainer(row) for row in await retainers.listed(session, principal)]


@router.post(
    "/retainers",
    response_model=RetainerRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, InvalidInvoice),
)
async def create_retainer(
    body: RetainerCreate, session: SessionDep, principal: Writer
) -> RetainerRead:
    """Invoice the same amount every period, on a schedule."""
    row = await retainers.create(
        session,
        principal,
        client_name=body.client_name,
        client_email=str(body.client_email) if body.client_email else None,
        description=body.description,
        currency=body.currency,
        amount_minor=minor(body.amount, body.currency),
        tax_rate_bps=_percent_bps(body.tax_rate),
        interval=body.interval,
        interval_count=body.interval_count,
        starts_at=body.starts_at,
        job_id=body.job_id,
        method=body.method,
    )
    return presenting.retainer(row)


@router.post(
    "/retainers/{retainer_id}/stop",
    response_model=RetainerRead,
    responses=problem_responses(*_AUTHENTICATED, InvoiceNotFound),
)
async def stop_retainer(
    retainer_id: uuid.UUID, session: SessionDep, principal: Writer
) -> RetainerRead:
    return presenting.retainer(await retainers.stop(session, principal, retainer_id))


def _settings_read(row: object) -> PaymentSettingsRead:
    from gigforge.kit.money import minor_to_major
    from gigforge.payments.models import PaymentSettings

    assert isinstance(row, PaymentSettings)
    return PaymentSettingsRead(
        home_currency=row.home_currency,
        auto_payout_max=minor_to_major(row.auto_payout_max_minor, row.home_currency),
        auto_payout_daily_max=minor_to_major(row.auto_payout_daily_max_minor, row.home_currency),
    )


@router.get(
    "/settings", response_model=PaymentSettingsRead, responses=problem_responses(*_AUTHENTICATED)
)
async def read_settings(session: SessionDep, principal: Reader) -> PaymentSettingsRead:
    return _settings_read(await preferences.of(session, principal.user_id))


@router.patch(
    "/settings",
    response_model=PaymentSettingsRead,
    responses=problem_responses(*_AUTHENTICATED, InvalidPayoutState),
)
async def change_settings(
    body: PaymentSettingsUpdate, session: SessionDep, principal: Writer
) -> PaymentSettingsRead:
    """Your home currency, and the caps under which payouts are approved without asking."""
    current = await preferences.of(session, principal.user_id)
    currency = body.home_currency or current.home_currency
    row = await preferences.update(
        session,
        principal,
        home_currency=body.home_currency,
        auto_payout_max_minor=(
            parse_major_units(body.auto_payout_max, currency)
            if body.auto_payout_max is not None
            else None
        ),
        auto_payout_daily_max_minor=(
            parse_major_units(body.auto_payout_daily_max, currency)
            if body.auto_payout_daily_max is not None
            else None
        ),
    )
    return _settings_read(row)


# The provider's webhook

MAX_WEBHOOK_BYTES = 512 * 1024


@router.post(
    "/webhooks/{provider}",
    response_model=WebhookAck,
    responses=problem_responses(WebhookRejected, PaymentsNotConfigured),
)
async def provider_webhook(provider: str, request: Request, session: SessionDep) -> WebhookAck:
    """The payment provider's signed events (Stripe: `Stripe-Signature`), applied to the
    ledger exactly once and in any order. Point the provider's webhook endpoint here."""
    platform = platform_of(request)
    if provider != platform.provider:
        raise WebhookRejected(f"This server takes payments through {platform.provider}")
    body = await request.body()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise WebhookRejected("The event is too large")
    connector = platform.payments()
    async with connector.client:
        try:
            event = connector.parse_webhook(dict(request.headers), body)
        except IntegrationError as exc:
            raise WebhookRejected(exc.detail) from None
        except ValueError as exc:
            raise WebhookRejected(str(exc)[:300]) from None
        interpreted = connector.interpret(event)
    result = await apply_event(session, platform.provider, interpreted, fee_bps=platform.fee_bps)
    return WebhookAck(received=True, status=result.value)
