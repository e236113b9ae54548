"""Posting: balanced transactions move kept balances; anything else is refused and writes
nothing; an idempotency key posts once; a debit never overdraws a non-negative account."""

from __future__ import annotations

import uuid

import pytest
from ledger_support import (
    PROVIDER,
    all_transactions,
    kept_balances,
    pay,
    payment_legs,
    refund,
    refund_legs,
    row_counts,
    wallet,
)

from gigforge.kit.db import Database, unit_of_work
from gigforge.ledger.errors import IdempotencyConflict, InsufficientFunds, UnbalancedTransaction
from gigforge.ledger.kinds import AccountKind, TransactionKind
from gigforge.ledger.service import CurrencyBalance, Leg, ledger

A, P, E, F = AccountKind.available, AccountKind.pending, AccountKind.external, AccountKind.fees


async def test_a_balanced_posting_moves_the_kept_balances(database: Database) -> None:
    user = uuid.uuid4()
    async with unit_of_work(database) as session:
        transaction = await ledger.post(
            session,
            user,
            payment_legs(10_000, into=P, fee_minor=290),
            kind=TransactionKind.payment,
            key="payment:pi_1",
            description="Invoice 7",
            reference=("invoice", "inv_7"),
        )
    assert transaction.replayed is False
    assert transaction.kind is TransactionKind.payment
    assert sorted(p.amount_minor for p in transaction.postings) == [-10_000, 290, 9_710]

    assert await kept_balances(database, user) == {
        (E, "USD", PROVIDER): -10_000,
        (P, "USD", ""): 9_710,
        (F, "USD", ""): 290,
    }
    balance = await wallet(database, user)
    assert (balance.available_minor, balance.pending_minor, balance.fees_minor) == (0, 9_710, 290)
    assert balance.balance_minor == 9_710

    [stored] = await all_transactions(database, user)
    assert stored.id == transaction.id
    assert (stored.reference_type, stored.reference_id) == ("invoice", "inv_7")
    assert stored.description == "Invoice 7"


async def test_postings_accumulate_on_the_same_accounts(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 5_000, into=P)
    async with unit_of_work(database) as session:
        await ledger.post(
            session,
            user,
            [Leg(P, -3_000, "USD"), Leg(A, 3_000, "USD")],
            kind=TransactionKind.release,
            key="release:1",
        )
    await refund(database, user, 1_000)

    assert await kept_balances(database, user) == {
        (E, "USD", PROVIDER): -4_000,
        (P, "USD", ""): 2_000,
        (A, "USD", ""): 2_000,
    }


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        pytest.param(
            [Leg(E, -1_000, "USD", PROVIDER), Leg(A, 999, "USD")],
            "off by -1 USD",
            id="unbalanced",
        ),
        pytest.param([Leg(A, 1_000, "USD")], "at least two postings", id="one-leg"),
        pytest.param([], "at least two postings", id="no-legs"),
        pytest.param([Leg(E, 0, "USD", PROVIDER), Leg(A, 0, "USD")], "posting of zero", id="zero"),
        pytest.param(
            [Leg(E, -1_000, "USD", PROVIDER), Leg(A, 1_000, "USD"), Leg(F, 0, "USD")],
            "posting of zero",
            id="one-zero-leg",
        ),
        pytest.param(
            [Leg(E, -1_000, "usd", PROVIDER), Leg(A, 1_000, "usd")],
            "ISO 4217",
            id="lowercase-currency",
        ),
        pytest.param(
            [Leg(E, -1_000, "EURO", PROVIDER), Leg(A, 1_000, "EURO")],
            "ISO 4217",
            id="four-letter-currency",
        ),
        pytest.param(
            [Leg(E, -1_000, "", PROVIDER), Leg(A, 1_000, "")], "ISO 4217", id="no-currency"
        ),
        pytest.param(
            [Leg(E, -1_000, "USD"), Leg(A, 1_000, "USD")],
            "Only outside-world accounts",
            id="external-without-provider",
        ),
        pytest.param(
            [Leg(E, -1_000, "USD", PROVIDER), Leg(A, 1_000, "USD", PROVIDER)],
            "Only outside-world accounts",
            id="own-account-with-provider",
        ),
        pytest.param(
            [Leg(E, -1_000, "USD", PROVIDER), Leg(A, 1_000, "EUR")],
            "off by 1000 EUR, -1000 USD",
            id="balanced-only-across-currencies",
        ),
    ],
)
async def test_a_malformed_transaction_is_refused_and_writes_nothing(
    database: Database, legs: list[Leg], message: str
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 2_000)
    before = await kept_balances(database, user), await row_counts(database)

    with pytest.raises(UnbalancedTransaction, match=message):
        async with unit_of_work(database) as session:
            await ledger.post(session, user, legs, kind=TransactionKind.adjustment, key="bad")

    assert (await kept_balances(database, user), await row_counts(database)) == before


@pytest.mark.parametrize("currency", ["US1", "U$D"])
async def test_a_currency_code_is_three_letters(database: Database, currency: str) -> None:
    user = uuid.uuid4()
    with pytest.raises(UnbalancedTransaction, match="ISO 4217"):
        async with unit_of_work(database) as session:
            await ledger.post(
                session,
                user,
                payment_legs(1_000, currency),
                kind=TransactionKind.payment,
                key="odd-currency",
            )


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_an_idempotency_key_of_the_wrong_length_is_refused(
    database: Database, key: str
) -> None:
    user = uuid.uuid4()
    with pytest.raises(UnbalancedTransaction, match="idempotency key"):
        async with unit_of_work(database) as session:
            await ledger.post(
                session, user, payment_legs(1_000), kind=TransactionKind.payment, key=key
            )
    assert await all_transactions(database, user) == []


async def test_the_same_key_with_the_same_content_returns_the_first_transaction(
    database: Database,
) -> None:
    user = uuid.uuid4()
    first = await pay(database, user, 1_500, key="payment:pi_42", reference=("payment", "pi_42"))
    counts = await row_counts(database)

    again = await pay(database, user, 1_500, key="payment:pi_42", reference=("payment", "pi_42"))

    assert again.replayed is True
    assert again.id == first.id
    assert sorted(p.amount_minor for p in again.postings) == [-1_500, 1_500]
    assert await row_counts(database) == counts
    assert await kept_balances(database, user) == {
        (E, "USD", PROVIDER): -1_500,
        (A, "USD", ""): 1_500,
    }


async def test_the_same_key_replays_within_one_unit_of_work(database: Database) -> None:
    user = uuid.uuid4()
    async with unit_of_work(database) as session:
        first = await ledger.post(
            session, user, payment_legs(700), kind=TransactionKind.payment, key="twice"
        )
        second = await ledger.post(
            session, user, payment_legs(700), kind=TransactionKind.payment, key="twice"
        )
    assert (second.id, second.replayed) == (first.id, True)
    assert (await wallet(database, user)).available_minor == 700


async def test_the_same_key_belongs_to_each_user_separately(database: Database) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    for_alice = await pay(database, alice, 100, key="payment:shared")
    for_bob = await pay(database, bob, 200, key="payment:shared")
    assert for_bob.replayed is False
    assert for_bob.id != for_alice.id
    assert (await wallet(database, alice)).available_minor == 100
    assert (await wallet(database, bob)).available_minor == 200


@pytest.mark.parametrize(
    "change",
    ["amount", "currency", "kind", "reference", "account", "provider"],
)
async def test_the_same_key_with_other_content_is_an_idempotency_conflict(
    database: Database, change: str
) -> None:
    user = uuid.uuid4()
    first = await pay(database, user, 1_500, key="payment:pi_9", reference=("payment", "pi_9"))
    counts = await row_counts(database)
    legs = payment_legs(1_500)
    kind = TransactionKind.payment
    reference = ("payment", "pi_9")
    if change == "amount":
        legs = payment_legs(1_501)
    elif change == "currency":
        legs = payment_legs(1_500, "EUR")
    elif change == "kind":
        kind = TransactionKind.adjustment
    elif change == "reference":
        reference = ("payment", "pi_10")
    elif change == "account":
        legs = payment_legs(1_500, into=P)
    else:
        legs = payment_legs(1_500, provider="paypal")

    with pytest.raises(IdempotencyConflict) as refused:
        async with unit_of_work(database) as session:
            await ledger.post(
                session, user, legs, kind=kind, key="payment:pi_9", reference=reference
            )

    assert refused.value.extensions["transaction_id"] == str(first.id)
    assert await row_counts(database) == counts
    assert (await wallet(database, user)).available_minor == 1_500


async def test_the_order_of_the_legs_does_not_change_what_a_key_means(
    database: Database,
) -> None:
    user = uuid.uuid4()
    first = await pay(database, user, 900, key="payment:ordered")
    async with unit_of_work(database) as session:
        again = await ledger.post(
            session,
            user,
            list(reversed(payment_legs(900))),
            kind=TransactionKind.payment,
            key="payment:ordered",
        )
    assert (again.id, again.replayed) == (first.id, True)


async def test_an_overdraft_of_available_is_refused_and_writes_nothing(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000)
    before = await kept_balances(database, user)
    counts = await row_counts(database)

    with pytest.raises(InsufficientFunds) as refused:
        await refund(database, user, 1_001)

    assert refused.value.extensions == {"account": "available", "currency": "USD"}
    assert await kept_balances(database, user) == before
    assert await row_counts(database) == counts
    assert len(await all_transactions(database, user)) == 1


async def test_an_overdraft_leaves_nothing_behind_even_before_the_rollback(
    database: Database,
) -> None:
    """A caller that catches the refusal and goes on in the same unit of work commits only
    what it did besides: the refused transaction's credits were taken back."""
    user = uuid.uuid4()
    await pay(database, user, 1_000)
    async with unit_of_work(database) as session:
        with pytest.raises(InsufficientFunds):
            await ledger.post(
                session,
                user,
                [Leg(A, -5_000, "USD"), Leg(E, 5_000, "USD", PROVIDER)],
                kind=TransactionKind.refund,
                key="refund:too-much",
            )
        await ledger.post(
            session, user, refund_legs(400), kind=TransactionKind.refund, key="refund:ok"
        )

    assert await kept_balances(database, user) == {
        (E, "USD", PROVIDER): -600,
        (A, "USD", ""): 600,
    }
    keys = sorted(t.idempotency_key for t in await all_transactions(database, user))
    assert len(keys) == 2
    assert keys[1] == "refund:ok"
    assert keys[0].startswith("payment:")


async def test_a_refused_key_can_be_posted_once_the_money_is_there(database: Database) -> None:
    user = uuid.uuid4()
    with pytest.raises(InsufficientFunds):
        async with unit_of_work(database) as session:
            await ledger.post(
                session, user, refund_legs(300), kind=TransactionKind.refund, key="refund:r1"
            )
    await pay(database, user, 500)
    async with unit_of_work(database) as session:
        posted = await ledger.post(
            session, user, refund_legs(300), kind=TransactionKind.refund, key="refund:r1"
        )
    assert posted.replayed is False
    assert (await wallet(database, user)).available_minor == 200


async def test_an_overdraft_of_pending_is_refused(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000, into=P)
    with pytest.raises(InsufficientFunds) as refused:
        async with unit_of_work(database) as session:
            await ledger.post(
                session,
                user,
                [Leg(P, -1_200, "USD"), Leg(A, 1_200, "USD")],
                kind=TransactionKind.release,
                key="release:too-much",
            )
    assert refused.value.extensions["account"] == "pending"
    balance = await wallet(database, user)
    assert (balance.pending_minor, balance.available_minor) == (1_000, 0)


async def test_owed_and_external_accounts_may_go_below_zero(database: Database) -> None:
    user = uuid.uuid4()
    await pay(database, user, 1_000)
    async with unit_of_work(database) as session:
        await ledger.post(
            session,
            user,
            [
                Leg(A, -1_000, "USD"),
                Leg(AccountKind.owed, -500, "USD"),
                Leg(E, 1_500, "USD", PROVIDER),
            ],
            kind=TransactionKind.dispute,
            key="dispute:dp_1",
        )
    balance = await wallet(database, user)
    assert (balance.available_minor, balance.owed_minor) == (0, 500)
    assert balance.balance_minor == -500


async def test_a_transaction_may_move_several_currencies_each_balanced(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 10_000, "USD")
    async with unit_of_work(database) as session:
        conversion = await ledger.post(
            session,
            user,
            [
                Leg(A, -10_000, "USD"),
                Leg(E, 10_000, "USD", "wise"),
                Leg(E, -9_200, "EUR", "wise"),
                Leg(A, 9_200, "EUR"),
            ],
            kind=TransactionKind.adjustment,
            key="convert:1",
        )
    assert conversion.net([A]) == {"USD": -10_000, "EUR": 9_200}

    [eur, usd] = await ledger_balances(database, user)
    assert (eur.currency, eur.available_minor) == ("EUR", 9_200)
    assert (usd.currency, usd.available_minor) == ("USD", 0)
    assert await kept_balances(database, user) == {
        (E, "USD", PROVIDER): -10_000,
        (E, "USD", "wise"): 10_000,
        (E, "EUR", "wise"): -9_200,
        (A, "EUR", ""): 9_200,
    }


async def test_a_multi_currency_overdraft_in_one_currency_refuses_all_of_it(
    database: Database,
) -> None:
    user = uuid.uuid4()
    await pay(database, user, 5_000, "USD")
    await pay(database, user, 100, "EUR")
    before = await kept_balances(database, user)
    counts = await row_counts(database)

    with pytest.raises(InsufficientFunds) as refused:
        async with unit_of_work(database) as session:
            await ledger.post(
                session,
                user,
                [
                    Leg(A, -5_000, "USD"),
                    Leg(E, 5_000, "USD", PROVIDER),
                    Leg(A, -200, "EUR"),
                    Leg(E, 200, "EUR", PROVIDER),
                ],
                kind=TransactionKind.refund,
                key="refund:both",
            )

    assert refused.value.extensions["currency"] == "EUR"
    assert await kept_balances(database, user) == before
    assert await row_counts(database) == counts


async def ledger_balances(database: Database, user: uuid.UUID) -> list[CurrencyBalance]:
    async with unit_of_work(database) as session:
        return list(await ledger.balances(session, user))
