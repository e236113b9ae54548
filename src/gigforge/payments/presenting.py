"""Rows and ledger views as the API shows them: major units, computed exactly."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from gigforge.kit.money import minor_to_major
from gigforge.ledger.kinds import AccountKind
from gigforge.ledger.service import CurrencyBalance, TransactionView
from gigforge.payments.models import Invoice, InvoiceLine, Payout, PayoutStatus, Retainer
from gigforge.payments.schemas import (
    CurrencyBalanceRead,
    InvoiceLineRead,
    InvoiceRead,
    PayoutRead,
    PostingRead,
    RetainerRead,
    TransactionRead,
    WalletRead,
)

#: The user's own money, as opposed to fees paid and the outside world.
OWN = (AccountKind.available, AccountKind.pending, AccountKind.reserved, AccountKind.owed)


def currency_balance(balance: CurrencyBalance) -> CurrencyBalanceRead:
    code = balance.currency
    return CurrencyBalanceRead(
        currency=code,
        balance=minor_to_major(balance.balance_minor, code),
        pending=minor_to_major(balance.pending_minor, code),
        available_for_withdrawal=minor_to_major(balance.available_minor, code),
        reserved=minor_to_major(balance.reserved_minor, code),
        owed=minor_to_major(balance.owed_minor, code),
        fees_paid=minor_to_major(balance.fees_minor, code),
    )


def wallet(balances: Sequence[CurrencyBalance], currency: str) -> WalletRead:
    home = next((b for b in balances if b.currency == currency), CurrencyBalance(currency))
    main = currency_balance(home)
    return WalletRead(
        currency=currency,
        balance=main.balance,
        pending=main.pending,
        available_for_withdrawal=main.available_for_withdrawal,
        reserved=main.reserved,
        currencies=[currency_balance(balance) for balance in balances],
    )


def transaction(view: TransactionView, *, with_postings: bool = False) -> TransactionRead:
    """`amount` is what the transaction did to the user's money; one that only moved it
    between their own balances (a release, a hold) shows what it did to the available one."""
    net = {currency: value for currency, value in view.net(OWN).items() if value}
    if not net:
        net = view.net((AccountKind.available,))
    currency = next(iter(net), view.postings[0].currency if view.postings else "USD")
    return TransactionRead(
        transaction_id=view.id,
        type=view.kind,
        description=view.description,
        occurred_at=view.occurred_at,
        reference_type=view.reference_type,
        reference_id=view.reference_id,
        amount=minor_to_major(net.get(currency, 0), currency),
        currency=currency,
        postings=(
            [
                PostingRead(
                    account=posting.account_kind.value,
                    provider=posting.provider or None,
                    amount=minor_to_major(posting.amount_minor, posting.currency),
                    currency=posting.currency,
                )
                for posting in view.postings
            ]
            if with_postings
            else None
        ),
    )


def payout(row: Payout) -> PayoutRead:
    return PayoutRead(
        id=row.id,
        status=row.status,
        amount=minor_to_major(row.amount_minor, row.currency),
        currency=row.currency,
        method=row.method,
        bank_account_id=row.bank_account_id,
        auto_approved=row.auto_approved,
        needs_approval=row.status is PayoutStatus.awaiting_approval,
        provider_payout_id=row.provider_payout_id,
        failure=row.failure,
        created_at=row.created_at,
        approved_at=row.approved_at,
        paid_at=row.paid_at,
        arrival_date=row.arrival_date,
    )


def invoice(row: Invoice, lines: Sequence[InvoiceLine] = ()) -> InvoiceRead:
    code = row.currency
    return InvoiceRead(
        invoice_id=row.id,
        kind=row.kind,
        number=row.number,
        status=row.status,
        job_id=row.job_id,
        milestone=row.milestone,
        corrects_id=row.corrects_id,
        client_name=row.client_name,
        client_email=row.client_email,
        memo=row.memo,
        currency=code,
        subtotal=minor_to_major(row.subtotal_minor, code),
        tax=minor_to_major(row.tax_minor, code),
        total=minor_to_major(row.total_minor, code),
        amount_paid=minor_to_major(row.amount_paid_minor, code),
        home_currency=row.home_currency,
        exchange_rate=row.exchange_rate,
        rate_source=row.rate_source,
        home_total=minor_to_major(row.home_total_minor, row.home_currency),
        method=row.method,
        pay_url=row.hosted_url,
        send_error=row.send_error,
        issued_at=row.issued_at,
        due_at=row.due_at,
        paid_at=row.paid_at,
        lines=[
            InvoiceLineRead(
                description=line.description,
                quantity=line.quantity,
                unit_amount=minor_to_major(line.unit_amount_minor, code),
                tax_rate=Decimal(line.tax_rate_bps) / 100,
                tax=minor_to_major(line.tax_minor, code),
                amount=minor_to_major(line.amount_minor, code),
            )
            for line in lines
        ],
    )


def retainer(row: Retainer) -> RetainerRead:
    return RetainerRead(
        id=row.id,
        client_name=row.client_name,
        description=row.description,
        currency=row.currency,
        amount=minor_to_major(row.amount_minor, row.currency),
        interval=row.interval,
        interval_count=row.interval_count,
        next_run_at=row.next_run_at,
        active=row.active,
        issued_count=row.issued_count,
    )
