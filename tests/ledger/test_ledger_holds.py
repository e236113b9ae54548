"""Holds: money reserved for a payout until it leaves (posted) or comes back (voided)."""

from __future__ import annotations

import uuid

import pytest
from ledger_support import (
    PROVIDER,
    all_transactions,
    hold,
    kept_balances,
    pay,
    row_counts,
    wallet,
)

from gigforge.kit.db import Database, unit_of_work
from gigforge.ledger.errors import (
    HoldNotFound,
    HoldSettled,
    IdempotencyConflict,
    InsufficientFunds,
    UnbalancedTransaction,
)
from gigforge.ledger.kinds import AccountKind, HoldStatus, TransactionKind
from gigforge.ledger.service import HoldView, TransactionView, ledger

A, R, E = AccountKind.available, AccountKind.reserved, AccountKind.external


async def _post(
    database: Database, hold_id: uuid.UUID, provider: str = PROVIDER
) -> TransactionView:
    async with unit_of_work(database) as session:
        return await ledger.post_hold(session, hold_id, provider=provider)


async def _void(database: Database, hold_id: uuid.UUID) -> TransactionView:
    async with unit_of_work(database) as session:
        return await ledger.void_hold(session, hold_id)


async def _get(database: Database, hold_id: uuid.UUID) -> HoldView:
    async with unit_of_work(database) as session:
        return await ledger.get_hold(session, hold_id)


async def test_a_hold_moves_money_from_available_to_reserved(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 10_000)

    async with unit_of_work(database) as session:
        held = await ledger.hold(
            session,
            user,
            amount_minor=4_000,
            currency="USD",
            key="payout:po_1",
            purpose="Payout to bank",
            reference=("payout", "po_1"),
        )

    assert (held.status, held.amount_minor, held.currency) == (HoldStatus.pending, 4_000, "USD")
    assert held.settle_transaction_id is None
    assert held.settled_at is None
    balance = await wallet(database, user)
    assert (balance.available_minor, balance.reserved_minor) == (6_000, 4_000)
    assert balance.balance_minor == 10_000
    reserve = next(
        t for t in await all_transactions(database, user) if t.kind is TransactionKind.hold
    )
    assert reserve.id == held.reserve_transaction_id
    assert reserve.net([A, R]) == {"USD": 0}
    assert reserve.reference_id == "po_1"
    assert await _get(database, held.id) == held


async def test_a_hold_beyond_what_is_available_is_refused_and_writes_nothing(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000)
    await hold(database, user, 600)
    counts = await row_counts(database)

    with pytest.raises(InsufficientFunds):
        await hold(database, user, 401)

    balance = await wallet(database, user)
    assert (balance.available_minor, balance.reserved_minor) == (400, 600)
    assert await row_counts(database) == counts


@pytest.mark.parametrize("amount", [0, -100])
async def test_a_hold_is_for_a_positive_amount(database: Database, amount: int) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000)
    with pytest.raises(UnbalancedTransaction):
        await hold(database, user, amount)
    assert (await wallet(database, user)).reserved_minor == 0


async def test_the_same_hold_key_returns_the_first_hold(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000)
    held = []
    for _ in range(2):
        async with unit_of_work(database) as session:
            held.append(
                await ledger.hold(
                    session, user, amount_minor=300, currency="USD", key="po_7", purpose="payout"
                )
            )
    assert held[0] == held[1]
    assert (await wallet(database, user)).reserved_minor == 300

    with pytest.raises(IdempotencyConflict):
        async with unit_of_work(database) as session:
            await ledger.hold(
                session, user, amount_minor=301, currency="USD", key="po_7", purpose="payout"
            )
    assert (await wallet(database, user)).reserved_minor == 300


async def test_posting_a_hold_sends_the_reserved_money_to_the_provider(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 10_000)
    held = await hold(database, user, 2_500)

    payout = await _post(database, held.id)

    assert payout.kind is TransactionKind.payout
    assert payout.hold_id == held.id
    assert payout.net([R]) == {"USD": -2_500}
    assert payout.net([E]) == {"USD": 2_500}
    assert await kept_balances(database, user) == {
        (E, "USD", PROVIDER): -10_000 + 2_500,
        (A, "USD", ""): 7_500,
    }
    settled = await _get(database, held.id)
    assert settled.status is HoldStatus.posted
    assert settled.settle_transaction_id == payout.id
    assert settled.settled_at is not None


async def test_voiding_a_hold_returns_the_money_to_available(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 10_000)
    held = await hold(database, user, 2_500)

    returned = await _void(database, held.id)

    assert returned.kind is TransactionKind.release_hold
    assert returned.net([A]) == {"USD": 2_500}
    balance = await wallet(database, user)
    assert (balance.available_minor, balance.reserved_minor) == (10_000, 0)
    settled = await _get(database, held.id)
    assert (settled.status, settled.settle_transaction_id) == (HoldStatus.voided, returned.id)


@pytest.mark.parametrize("settle", ["post", "void"])
async def test_settling_a_hold_twice_the_same_way_replays_the_first_settlement(
    database: Database, settle: str
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 5_000)
    held = await hold(database, user, 1_000)
    act = _post if settle == "post" else _void
    first = await act(database, held.id)
    balances = await kept_balances(database, user)
    counts = await row_counts(database)

    again = await act(database, held.id)

    assert again.replayed is True
    assert again.id == first.id
    assert again.postings == first.postings
    assert await kept_balances(database, user) == balances
    assert await row_counts(database) == counts


@pytest.mark.parametrize(("first", "then"), [("post", "void"), ("void", "post")])
async def test_settling_a_hold_the_other_way_is_refused(
    database: Database, first: str, then: str
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 5_000)
    held = await hold(database, user, 1_000)
    await (_post if first == "post" else _void)(database, held.id)
    balances = await kept_balances(database, user)
    counts = await row_counts(database)

    with pytest.raises(HoldSettled, match="already posted" if first == "post" else "voided"):
        await (_post if then == "post" else _void)(database, held.id)

    assert await kept_balances(database, user) == balances
    assert await row_counts(database) == counts
    expected = HoldStatus.posted if first == "post" else HoldStatus.voided
    assert (await _get(database, held.id)).status is expected


async def test_an_unknown_hold_is_not_found(database: Database) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(HoldNotFound):
        await _get(database, unknown)
    with pytest.raises(HoldNotFound):
        await _post(database, unknown)
    with pytest.raises(HoldNotFound):
        await _void(database, unknown)


async def test_holds_in_several_currencies_reserve_each_its_own(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000, "USD")
    await pay(database, user, 2_000, "EUR")
    usd = await hold(database, user, 1_000, "USD")
    eur = await hold(database, user, 500, "EUR")
    with pytest.raises(InsufficientFunds):
        await hold(database, user, 1, "USD")

    await _post(database, eur.id)
    await _void(database, usd.id)

    async with unit_of_work(database) as session:
        balances = {b.currency: b for b in await ledger.balances(session, user)}
        report = await ledger.verify(session)
    assert (balances["USD"].available_minor, balances["USD"].reserved_minor) == (1_000, 0)
    assert (balances["EUR"].available_minor, balances["EUR"].reserved_minor) == (1_500, 0)
    assert report.clean, report.problems()
