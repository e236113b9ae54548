"""Helpers for the ledger tests: money moved through the service, each in its own unit of
work, and what the ledger holds read back through the service."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.kit.db import Database, unit_of_work
from gigforge.ledger.kinds import AccountKind, TransactionKind
from gigforge.ledger.service import CurrencyBalance, HoldView, Leg, TransactionView, ledger

PROVIDER = "stripe"

#: (kind, currency, provider) -> kept balance
Balances = dict[tuple[AccountKind, str, str], int]


def payment_legs(
    amount_minor: int,
    currency: str = "USD",
    *,
    into: AccountKind = AccountKind.available,
    fee_minor: int = 0,
    provider: str = PROVIDER,
) -> list[Leg]:
    """A client's payment: out of the provider's outside-world account, into the user's
    pending or available balance, less a fee."""
    legs = [
        Leg(AccountKind.external, -amount_minor, currency, provider),
        Leg(into, amount_minor - fee_minor, currency),
    ]
    if fee_minor:
        legs.append(Leg(AccountKind.fees, fee_minor, currency))
    return legs


def release_legs(amount_minor: int, currency: str = "USD") -> list[Leg]:
    return [
        Leg(AccountKind.pending, -amount_minor, currency),
        Leg(AccountKind.available, amount_minor, currency),
    ]


def refund_legs(amount_minor: int, currency: str = "USD", provider: str = PROVIDER) -> list[Leg]:
    return [
        Leg(AccountKind.available, -amount_minor, currency),
        Leg(AccountKind.external, amount_minor, currency, provider),
    ]


async def pay(
    database: Database,
    user_id: uuid.UUID,
    amount_minor: int,
    currency: str = "USD",
    *,
    into: AccountKind = AccountKind.available,
    fee_minor: int = 0,
    key: str | None = None,
    reference: tuple[str, str] | None = None,
) -> TransactionView:
    async with unit_of_work(database) as session:
        return await ledger.post(
            session,
            user_id,
            payment_legs(amount_minor, currency, into=into, fee_minor=fee_minor),
            kind=TransactionKind.payment,
            key=key or f"payment:{uuid.uuid4()}",
            reference=reference,
        )


async def refund(
    database: Database, user_id: uuid.UUID, amount_minor: int, currency: str = "USD"
) -> TransactionView:
    async with unit_of_work(database) as session:
        return await ledger.post(
            session,
            user_id,
            refund_legs(amount_minor, currency),
            kind=TransactionKind.refund,
            key=f"refund:{uuid.uuid4()}",
        )


async def hold(
    database: Database, user_id: uuid.UUID, amount_minor: int, currency: str = "USD"
) -> HoldView:
    async with unit_of_work(database) as session:
        return await ledger.hold(
            session,
            user_id,
            amount_minor=amount_minor,
            currency=currency,
            key=f"payout:{uuid.uuid4()}",
            purpose="payout",
        )


async def wallet(database: Database, user_id: uuid.UUID, currency: str = "USD") -> CurrencyBalance:
    async with unit_of_work(database) as session:
        return await ledger.balance(session, user_id, currency)


async def kept_balances(database: Database, user_id: uuid.UUID) -> Balances:
    """Every account of the user with its kept balance, zero balances left out."""
    async with unit_of_work(database) as session:
        return await kept_balances_in(session, user_id)


async def kept_balances_in(session: AsyncSession, user_id: uuid.UUID) -> Balances:
    return {
        (account.kind, account.currency, account.provider): account.balance_minor
        for account in await ledger.accounts(session, user_id)
        if account.balance_minor
    }


async def all_transactions(database: Database, user_id: uuid.UUID) -> list[TransactionView]:
    """Every transaction of the user, newest first, read page by page."""
    async with unit_of_work(database) as session:
        return await all_transactions_in(session, user_id)


async def all_transactions_in(session: AsyncSession, user_id: uuid.UUID) -> list[TransactionView]:
    found: list[TransactionView] = []
    cursor: uuid.UUID | None = None
    while True:
        page = await ledger.transactions(session, user_id, cursor=cursor, limit=100)
        found.extend(page.transactions)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def unbalanced(transactions: Sequence[TransactionView]) -> list[tuple[uuid.UUID, str, int]]:
    """(transaction, currency, sum) for every currency of a transaction not summing to zero,
    and transactions with fewer than two postings (as currency "")."""
    problems: list[tuple[uuid.UUID, str, int]] = []
    for transaction in transactions:
        if len(transaction.postings) < 2:
            problems.append((transaction.id, "", len(transaction.postings)))
        sums: dict[str, int] = defaultdict(int)
        for posting in transaction.postings:
            sums[posting.currency] += posting.amount_minor
        problems += [(transaction.id, c, total) for c, total in sums.items() if total]
    return problems


async def row_counts(database: Database) -> tuple[int, int, int]:
    """(transactions, postings, holds) in the whole database: a refused operation must leave
    no row behind, not even one the service's reads would never show."""
    async with unit_of_work(database) as session:
        return await row_counts_in(session)


async def row_counts_in(session: AsyncSession) -> tuple[int, int, int]:
    statement = text(
        "SELECT (SELECT count(*) FROM ledger_transactions),"
        " (SELECT count(*) FROM ledger_postings), (SELECT count(*) FROM ledger_holds)"
    )
    transactions, postings, holds = (await session.execute(statement)).one()
    return int(transactions), int(postings), int(holds)
