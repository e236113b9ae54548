"""Reading the ledger: pages of transactions with filters, one transaction with its postings,
lifetime earnings, and `verify` proving the books are consistent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from ledger_support import PROVIDER, hold, pay, refund
from sqlalchemy import text

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.ledger.errors import TransactionNotFound
from gigforge.ledger.kinds import AccountKind, TransactionKind
from gigforge.ledger.service import Leg, TransactionSlice, TransactionView, VerifyReport, ledger

A, P, E = AccountKind.available, AccountKind.pending, AccountKind.external


async def _slice(database: Database, user: uuid.UUID, **filters: object) -> TransactionSlice:
    async with unit_of_work(database) as session:
        return await ledger.transactions(session, user, **filters)  # type: ignore[arg-type]


async def _verify(database: Database) -> VerifyReport:
    async with unit_of_work(database) as session:
        return await ledger.verify(session)


async def _execute(database: Database, statement: str, **values: object) -> None:
    async with unit_of_work(database) as session:
        await session.execute(text(statement), values)


async def test_transactions_page_newest_first_with_a_cursor(database: Database) -> None:
    user = uuid.uuid4()
    posted = [await pay(database, user, 100 + n) for n in range(7)]
    await pay(database, uuid.uuid4(), 999)  # someone else's

    seen: list[TransactionView] = []
    cursor = None
    pages = 0
    while True:
        page = await _slice(database, user, limit=3, cursor=cursor)
        pages += 1
        seen.extend(page.transactions)
        assert len(page.transactions) <= 3
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert pages == 3
    assert [t.id for t in seen] == [t.id for t in reversed(posted)]
    assert all(len(t.postings) == 2 for t in seen)


async def test_a_page_that_ends_exactly_at_the_last_transaction_has_no_cursor(
    database: Database,
) -> None:
    user = uuid.uuid4()
    for n in range(4):
        await pay(database, user, 100 + n)
    first = await _slice(database, user, limit=2)
    second = await _slice(database, user, limit=2, cursor=first.next_cursor)
    assert len(second.transactions) == 2
    assert second.next_cursor is None
    assert (await _slice(database, user, limit=4)).next_cursor is None


async def test_transactions_filter_by_kind_and_currency(database: Database) -> None:
    user = uuid.uuid4()
    usd = await pay(database, user, 5_000, "USD")
    eur = await pay(database, user, 3_000, "EUR")
    usd_refund = await refund(database, user, 1_000, "USD")
    held = await hold(database, user, 500, "EUR")

    payments = await _slice(database, user, kinds=[TransactionKind.payment])
    assert [t.id for t in payments.transactions] == [eur.id, usd.id]
    several = await _slice(database, user, kinds=[TransactionKind.refund, TransactionKind.hold])
    assert [t.id for t in several.transactions] == [held.reserve_transaction_id, usd_refund.id]
    in_euros = await _slice(database, user, currency="EUR")
    assert [t.id for t in in_euros.transactions] == [held.reserve_transaction_id, eur.id]
    usd_payments = await _slice(database, user, kinds=[TransactionKind.payment], currency="USD")
    assert [t.id for t in usd_payments.transactions] == [usd.id]
    assert (await _slice(database, user, currency="GBP")).transactions == []


async def test_transactions_filter_by_time(database: Database) -> None:
    user = uuid.uuid4()
    early = await pay(database, user, 100)
    await asyncio.sleep(0.01)
    middle_start = utcnow()
    await asyncio.sleep(0.01)
    middle = await pay(database, user, 200)
    await asyncio.sleep(0.01)
    middle_end = utcnow()
    await asyncio.sleep(0.01)
    late = await pay(database, user, 300)

    since = await _slice(database, user, since=middle_start)
    assert [t.id for t in since.transactions] == [late.id, middle.id]
    until = await _slice(database, user, until=middle_end)
    assert [t.id for t in until.transactions] == [middle.id, early.id]
    between = await _slice(database, user, since=middle_start, until=middle_end)
    assert [t.id for t in between.transactions] == [middle.id]
    future = await _slice(database, user, since=utcnow() + timedelta(hours=1))
    assert future.transactions == []


async def test_a_time_window_pages_with_a_cursor(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1)
    await asyncio.sleep(0.01)
    start = utcnow()
    await asyncio.sleep(0.01)
    inside = [await pay(database, user, 10 + n) for n in range(5)]
    await asyncio.sleep(0.01)
    end = utcnow()
    await asyncio.sleep(0.01)
    await pay(database, user, 2)

    first = await _slice(database, user, since=start, until=end, limit=3)
    second = await _slice(database, user, since=start, until=end, limit=3, cursor=first.next_cursor)
    assert second.next_cursor is None
    assert [t.id for t in [*first.transactions, *second.transactions]] == [
        t.id for t in reversed(inside)
    ]


async def test_transactions_by_reference(database: Database) -> None:
    user = uuid.uuid4()
    paid = await pay(database, user, 1_000, reference=("invoice", "inv_1"))
    await pay(database, user, 2_000, reference=("invoice", "inv_2"))
    async with unit_of_work(database) as session:
        refunded = await ledger.post(
            session,
            user,
            [Leg(A, -400, "USD"), Leg(E, 400, "USD", PROVIDER)],
            kind=TransactionKind.refund,
            key="refund:inv_1",
            reference=("invoice", "inv_1"),
        )
        found = await ledger.by_reference(session, user, "inv_1")
        someone_elses = await ledger.by_reference(session, uuid.uuid4(), "inv_1")
    assert [t.id for t in found] == [refunded.id, paid.id]
    assert someone_elses == []
    filtered = await _slice(database, user, reference_id="inv_2")
    assert [t.reference_id for t in filtered.transactions] == ["inv_2"]


async def test_one_transaction_with_its_postings(database: Database) -> None:
    user = uuid.uuid4()
    occurred = utcnow() - timedelta(days=2)
    async with unit_of_work(database) as session:
        posted = await ledger.post(
            session,
            user,
            [
                Leg(E, -10_000, "USD", PROVIDER),
                Leg(P, 9_700, "USD"),
                Leg(AccountKind.fees, 300, "USD"),
            ],
            kind=TransactionKind.payment,
            key="payment:pi_77",
            description="Milestone 1",
            reference=("payment", "pi_77"),
            details={"charge": "ch_1", "fee_breakdown": [{"kind": "stripe", "amount": 300}]},
            occurred_at=occurred,
        )
    async with unit_of_work(database) as session:
        read = await ledger.transaction(session, user, posted.id)

    assert read.replayed is False
    assert (read.kind, read.idempotency_key, read.description) == (
        TransactionKind.payment,
        "payment:pi_77",
        "Milestone 1",
    )
    assert (read.reference_type, read.reference_id) == ("payment", "pi_77")
    assert read.details == {"charge": "ch_1", "fee_breakdown": [{"kind": "stripe", "amount": 300}]}
    assert read.occurred_at == occurred
    assert sorted(
        (p.account_kind, p.provider, p.amount_minor, p.currency) for p in read.postings
    ) == [
        (AccountKind.external, PROVIDER, -10_000, "USD"),
        (AccountKind.fees, "", 300, "USD"),
        (AccountKind.pending, "", 9_700, "USD"),
    ]
    assert {p.account_id for p in read.postings} == {p.account_id for p in posted.postings}


async def test_another_users_transaction_is_not_found(database: Database) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    posted = await pay(database, owner, 1_000)
    await pay(database, stranger, 1_000)
    async with unit_of_work(database) as session:
        with pytest.raises(TransactionNotFound):
            await ledger.transaction(session, stranger, posted.id)
        with pytest.raises(TransactionNotFound):
            await ledger.transaction(session, owner, uuid.uuid4())


async def test_lifetime_earnings_count_payments_after_fees_refunds_and_disputes(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 10_000, into=P, fee_minor=320)
    await pay(database, user, 5_000, fee_minor=150)
    await pay(database, user, 4_000, "EUR")
    async with unit_of_work(database) as session:
        await ledger.post(
            session,
            user,
            [Leg(P, -9_680, "USD"), Leg(A, 9_680, "USD")],
            kind=TransactionKind.release,
            key="release:1",
        )
        await ledger.post(
            session,
            user,
            [Leg(A, -1_000, "USD"), Leg(E, 1_000, "USD", PROVIDER)],
            kind=TransactionKind.refund,
            key="refund:1",
        )
        await ledger.post(
            session,
            user,
            [
                Leg(A, -4_000, "EUR"),
                Leg(AccountKind.owed, -500, "EUR"),
                Leg(E, 4_500, "EUR", PROVIDER),
            ],
            kind=TransactionKind.dispute,
            key="dispute:1",
        )
        await ledger.post(
            session,
            user,
            [
                Leg(E, -4_500, "EUR", PROVIDER),
                Leg(AccountKind.owed, 500, "EUR"),
                Leg(A, 4_000, "EUR"),
            ],
            kind=TransactionKind.dispute_won,
            key="dispute_won:1",
        )
    held = await hold(database, user, 2_000)
    async with unit_of_work(database) as session:
        await ledger.post_hold(session, held.id, provider=PROVIDER)
        earnings = await ledger.lifetime_earnings(session, user)
        nobody = await ledger.lifetime_earnings(session, uuid.uuid4())

    # 9,680 + 4,850 - 1,000 in USD (a payout is the user's own money leaving, not an earning)
    assert earnings == {"USD": 13_530, "EUR": 4_000}
    assert nobody == {}


async def test_verify_is_clean_after_normal_use(database: Database) -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    await pay(database, user, 10_000, into=P, fee_minor=300)
    await pay(database, user, 5_000)
    await pay(database, other, 700, "EUR")
    await refund(database, user, 1_000)
    posted_hold, voided_hold, _pending = [await hold(database, user, n) for n in (500, 700, 900)]
    async with unit_of_work(database) as session:
        await ledger.post_hold(session, posted_hold.id, provider=PROVIDER)
        await ledger.void_hold(session, voided_hold.id)

    report = await _verify(database)

    assert report.clean, report.problems()
    assert report.problems() == []
    assert report.accounts >= 7


async def test_verify_reports_a_tampered_kept_balance(database: Database) -> None:
    user = uuid.uuid4()
    paid = await pay(database, user, 5_000)
    account = next(p.account_id for p in paid.postings if p.account_kind is A)

    await _execute(
        database,
        "UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE id = :id",
        id=account.hex if database.engine.dialect.name == "sqlite" else account,
    )
    report = await _verify(database)

    assert not report.clean
    assert report.balance_mismatches == [(account, 5_001, 5_000)]
    assert report.unbalanced == []
    assert report.problems() == [
        f"account {account}: kept balance 5001 but its postings sum to 5000"
    ]


async def test_verify_reports_an_overdrawn_account(database: Database) -> None:
    """The no-overdraft CHECK constraint stops this ever being written; verify still looks,
    for a database restored or edited by hand. The constraint is lifted inside one
    transaction that is rolled back."""
    user = uuid.uuid4()
    paid = await pay(database, user, 5_000, into=P)
    account = next(p.account_id for p in paid.postings if p.account_kind is P)
    sqlite = database.engine.dialect.name == "sqlite"
    async with database.sessionmaker() as session:
        if sqlite:
            await session.execute(text("PRAGMA ignore_check_constraints = ON"))
        else:
            await session.execute(
                text("ALTER TABLE ledger_accounts DROP CONSTRAINT ck_ledger_accounts_no_overdraft")
            )
        try:
            await session.execute(
                text("UPDATE ledger_accounts SET balance_minor = -1 WHERE id = :id"),
                {"id": account.hex if sqlite else account},
            )
            report = await ledger.verify(session)
        finally:
            await session.rollback()
            if sqlite:
                await session.execute(text("PRAGMA ignore_check_constraints = OFF"))

    assert report.overdrawn == [account]
    assert report.balance_mismatches == [(account, -1, 5_000)]
    assert f"account {account}: below zero, which its kind forbids" in report.problems()
    assert (await _verify(database)).clean


async def test_verify_reports_a_transaction_that_no_longer_sums_to_zero(
    database: Database,
) -> None:
    user = uuid.uuid4()
    paid = await pay(database, user, 5_000)
    account = next(p.account_id for p in paid.postings if p.account_kind is A)

    await _execute(
        database,
        "UPDATE ledger_postings SET amount_minor = 4000"
        " WHERE transaction_id = :tx AND amount_minor = 5000",
        tx=paid.id.hex if database.engine.dialect.name == "sqlite" else paid.id,
    )
    report = await _verify(database)

    assert report.unbalanced == [(paid.id, "USD", -1_000)]
    assert report.balance_mismatches == [(account, 5_000, 4_000)]
    assert f"transaction {paid.id}: USD postings sum to -1000, not 0" in report.problems()


async def test_verify_reports_a_transaction_with_one_posting(database: Database) -> None:
    user = uuid.uuid4()
    paid = await pay(database, user, 5_000)
    await _execute(
        database,
        "DELETE FROM ledger_postings WHERE transaction_id = :tx AND amount_minor < 0",
        tx=paid.id.hex if database.engine.dialect.name == "sqlite" else paid.id,
    )
    report = await _verify(database)
    assert report.thin == [paid.id]
    assert report.unbalanced == [(paid.id, "USD", 5_000)]


async def test_verify_reports_a_hold_that_does_not_match_the_reserved_balance(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 5_000)
    held = await hold(database, user, 1_200)
    await hold(database, user, 300)

    await _execute(
        database,
        "UPDATE ledger_holds SET status = 'voided' WHERE id = :id",
        id=held.id.hex if database.engine.dialect.name == "sqlite" else held.id,
    )
    report = await _verify(database)

    assert report.holds == [(user, "USD", 1_500, 300)]
    assert report.balance_mismatches == []
    assert report.unbalanced == []
    assert f"user {user} USD: reserved 1500 but pending holds total 300" in report.problems()
