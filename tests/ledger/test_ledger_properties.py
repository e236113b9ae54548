"""The ledger's invariants under random sequences of operations (the acceptance property).

Each operation runs in its own unit of work. Beside the ledger the test keeps its own model:
the balance of every account, updated only when an operation succeeded, and the holds with
their states. Whether an operation must succeed is decided from the model before it runs,
so a refusal that should not happen (or an overdraft that should have been refused) fails
the test, and after every step the kept balances must equal the model, every transaction
must sum to zero per currency, no non-negative account may be below zero, and `verify` must
be clean.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from ledger_support import (
    PROVIDER,
    Balances,
    all_transactions_in,
    kept_balances_in,
    payment_legs,
    refund_legs,
    release_legs,
    row_counts,
    row_counts_in,
    unbalanced,
)

from gigforge.kit.db import Database, unit_of_work
from gigforge.ledger.errors import HoldSettled, InsufficientFunds
from gigforge.ledger.kinds import NON_NEGATIVE, AccountKind, HoldStatus, TransactionKind
from gigforge.ledger.service import Leg, ledger

A, P, R, E = (
    AccountKind.available,
    AccountKind.pending,
    AccountKind.reserved,
    AccountKind.external,
)
#: Deposits run larger than what goes out, so that most debits can succeed and some cannot.
deposits = st.integers(min_value=500, max_value=10_000)
amounts = st.integers(min_value=1, max_value=4_000)
#: Mostly one currency, so that holds and refunds find money; sometimes another.
currencies = st.sampled_from(("USD", "USD", "USD", "EUR"))


@dataclass(frozen=True)
class Deposit:
    amount: int
    currency: str
    into: AccountKind


@dataclass(frozen=True)
class Release:
    amount: int
    currency: str


@dataclass(frozen=True)
class Refund:
    amount: int
    currency: str


@dataclass(frozen=True)
class Hold:
    """A payout hold for a share (in percent) of what is available, at least 1."""

    percent: int
    currency: str


@dataclass(frozen=True)
class OversizedPayout:
    """A payout hold for more than is available: always refused."""

    extra: int
    currency: str


@dataclass(frozen=True)
class PostHold:
    pick: int


@dataclass(frozen=True)
class VoidHold:
    pick: int


@dataclass(frozen=True)
class Replay:
    """An earlier posting sent again with its key: answered with the first, nothing moves."""

    pick: int


Operation = Deposit | Release | Refund | Hold | OversizedPayout | PostHold | VoidHold | Replay

picks = st.integers(min_value=0, max_value=50)
deposit = st.builds(Deposit, amount=deposits, currency=currencies, into=st.sampled_from([A, A, P]))
hold = st.builds(Hold, percent=st.integers(min_value=1, max_value=100), currency=currencies)
settle = st.builds(PostHold, pick=picks) | st.builds(VoidHold, pick=picks)
#: Listed twice, deposits, holds and settlements come up more often than the rest.
operations = st.one_of(
    deposit,
    deposit,
    st.builds(Release, amount=amounts, currency=currencies),
    st.builds(Refund, amount=amounts, currency=currencies),
    hold,
    hold,
    st.builds(OversizedPayout, extra=amounts, currency=currencies),
    settle,
    settle,
    st.builds(Replay, pick=picks),
)


@dataclass
class ModelHold:
    id: uuid.UUID
    amount: int
    currency: str
    status: HoldStatus = HoldStatus.pending


@dataclass
class Model:
    balances: dict[tuple[AccountKind, str, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    holds: list[ModelHold] = field(default_factory=list)
    #: key, kind, legs of every posting made with `ledger.post`, to replay
    posted: list[tuple[str, TransactionKind, list[Leg]]] = field(default_factory=list)
    transactions: int = 0

    def move(self, legs: list[Leg]) -> None:
        for leg in legs:
            self.balances[leg.key] += leg.amount_minor
        self.transactions += 1

    def can_debit(self, kind: AccountKind, currency: str, amount: int) -> bool:
        return self.balances[(kind, currency, "")] >= amount

    def expected(self) -> Balances:
        return {key: amount for key, amount in self.balances.items() if amount}


async def _post(
    database: Database,
    user: uuid.UUID,
    model: Model,
    legs: list[Leg],
    kind: TransactionKind,
    *,
    succeeds: bool,
) -> str:
    key = f"{kind.value}:{uuid.uuid4()}"
    try:
        async with unit_of_work(database) as session:
            posted = await ledger.post(session, user, legs, kind=kind, key=key)
    except InsufficientFunds:
        assert not succeeds, f"{kind.value} refused though the model had the money"
        return "refused"
    assert succeeds, f"{kind.value} of {legs} went through though it overdraws"
    assert posted.replayed is False
    model.move(legs)
    model.posted.append((key, kind, legs))
    return "posted"


async def _settle(
    database: Database, model: Model, pick: int, target: HoldStatus, provider: str
) -> str:
    if not model.holds:
        return "no hold yet"
    held = model.holds[pick % len(model.holds)]
    try:
        async with unit_of_work(database) as session:
            if target is HoldStatus.posted:
                settled = await ledger.post_hold(session, held.id, provider=provider)
            else:
                settled = await ledger.void_hold(session, held.id)
    except HoldSettled:
        assert held.status not in (HoldStatus.pending, target), held
        return "refused"
    if held.status is target:
        assert settled.replayed is True
        return "replayed"
    assert held.status is HoldStatus.pending, held
    assert settled.replayed is False
    assert settled.hold_id == held.id
    back = (
        Leg(E, held.amount, held.currency, provider)
        if target is HoldStatus.posted
        else Leg(A, held.amount, held.currency)
    )
    model.move([Leg(R, -held.amount, held.currency), back])
    held.status = target
    return "settled"


async def _hold(
    database: Database, user: uuid.UUID, model: Model, amount: int, currency: str
) -> str:
    succeeds = model.can_debit(A, currency, amount)
    try:
        async with unit_of_work(database) as session:
            held = await ledger.hold(
                session,
                user,
                amount_minor=amount,
                currency=currency,
                key=f"payout:{uuid.uuid4()}",
                purpose="payout",
            )
    except InsufficientFunds:
        assert not succeeds, f"hold of {amount} {currency} refused though the model had it"
        return "refused"
    assert succeeds, f"hold of {amount} {currency} went through though it overdraws"
    assert (held.status, held.amount_minor, held.currency) == (HoldStatus.pending, amount, currency)
    model.move([Leg(A, -amount, currency), Leg(R, amount, currency)])
    model.holds.append(ModelHold(held.id, amount, currency))
    return "held"


async def _replay(database: Database, user: uuid.UUID, model: Model, pick: int) -> str:
    if not model.posted:
        return "nothing to replay"
    key, kind, legs = model.posted[pick % len(model.posted)]
    async with unit_of_work(database) as session:
        again = await ledger.post(session, user, legs, kind=kind, key=key)
    assert again.replayed is True
    return "replayed"


async def apply(database: Database, user: uuid.UUID, model: Model, operation: Operation) -> str:
    """Run one operation; return what happened ("refused" when the ledger said no)."""
    match operation:
        case Deposit(amount, currency, into):
            legs = payment_legs(amount, currency, into=into)
            return await _post(database, user, model, legs, TransactionKind.payment, succeeds=True)
        case Release(amount, currency):
            succeeds = model.can_debit(P, currency, amount)
            legs = release_legs(amount, currency)
            return await _post(
                database, user, model, legs, TransactionKind.release, succeeds=succeeds
            )
        case Refund(amount, currency):
            succeeds = model.can_debit(A, currency, amount)
            legs = refund_legs(amount, currency)
            return await _post(
                database, user, model, legs, TransactionKind.refund, succeeds=succeeds
            )
        case Hold(percent, currency):
            amount = max(1, model.balances[(A, currency, "")] * percent // 100)
            return await _hold(database, user, model, amount, currency)
        case OversizedPayout(extra, currency):
            too_much = model.balances[(A, currency, "")] + extra
            outcome = await _hold(database, user, model, too_much, currency)
            assert outcome == "refused"
            return outcome
        case PostHold(pick):
            return await _settle(database, model, pick, HoldStatus.posted, PROVIDER)
        case VoidHold(pick):
            return await _settle(database, model, pick, HoldStatus.voided, PROVIDER)
        case Replay(pick):
            return await _replay(database, user, model, pick)


async def check_invariants(
    database: Database, user: uuid.UUID, model: Model
) -> tuple[int, int, int]:
    """Assert the invariants after a step; return the row counts, for the next step to
    prove that a refusal wrote nothing."""
    async with unit_of_work(database) as session:
        balances = await kept_balances_in(session, user)
        transactions = await all_transactions_in(session, user)
        holds = {held.id: await ledger.get_hold(session, held.id) for held in model.holds}
        report = await ledger.verify(session)
        counts = await row_counts_in(session)
    assert balances == model.expected()
    overdrawn = {key: amount for key, amount in balances.items() if key[0] in NON_NEGATIVE}
    assert all(amount >= 0 for amount in overdrawn.values()), overdrawn
    assert len(transactions) == model.transactions
    assert unbalanced(transactions) == []
    assert {id: held.status for id, held in holds.items()} == {
        held.id: held.status for held in model.holds
    }
    reserved: dict[str, int] = defaultdict(int)
    for held in model.holds:
        if held.status is HoldStatus.pending:
            reserved[held.currency] += held.amount
    assert {c: n for c, n in reserved.items() if n} == {
        key[1]: amount for key, amount in balances.items() if key[0] is R
    }
    assert report.clean, report.problems()
    return counts


@settings(
    max_examples=25,
    deadline=None,
    database=None,  # a failing run prints its steps (`note`); nothing is stored in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=st.builds(Deposit, amount=deposits, currency=st.just("USD"), into=st.just(A)),
    steps=st.lists(operations, min_size=8, max_size=24),
)
async def test_random_operations_keep_the_books_balanced(
    database: Database, opening: Deposit, steps: list[Operation]
) -> None:
    user = uuid.uuid4()  # a user of its own per example: the database lives across them
    model = Model()
    counts = await row_counts(database)
    for operation in [opening, *steps]:
        before = model.expected(), model.transactions
        outcome = await apply(database, user, model, operation)
        event(f"{type(operation).__name__}: {outcome}")
        note(f"{operation} -> {outcome}")
        changed = counts
        # The kept balances are checked against the model, which a refusal leaves alone.
        counts = await check_invariants(database, user, model)
        if outcome in ("refused", "replayed", "no hold yet", "nothing to replay"):
            assert (model.expected(), model.transactions) == before
            assert counts == changed, (operation, outcome)
