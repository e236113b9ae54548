"""The concurrency acceptance test: a thousand operations on one user's wallet at once on
PostgreSQL (payout holds racing deposits, releases, refunds and the posting and voiding of
holds), each in its own unit of work. Afterwards nothing is overdrawn, the kept balances are
exactly the sum of what succeeded (no lost update), every transaction balances, each hold
was settled at most one way, and `verify` is clean."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from ledger_support import (
    PROVIDER,
    all_transactions,
    kept_balances,
    payment_legs,
    refund_legs,
    release_legs,
    unbalanced,
    wallet,
)
from sqlalchemy.ext.asyncio import async_sessionmaker

from gigforge.kit.db import Database, create_engine, unit_of_work
from gigforge.ledger.errors import HoldSettled, InsufficientFunds
from gigforge.ledger.kinds import NON_NEGATIVE, AccountKind, HoldStatus, TransactionKind
from gigforge.ledger.service import Leg, ledger

pytestmark = pytest.mark.skipif(
    not os.environ.get("GIGFORGE_TEST_POSTGRES_URL"),
    reason="the concurrency acceptance test needs PostgreSQL: set GIGFORGE_TEST_POSTGRES_URL "
    "(SQLite serializes writers, so it cannot show a lost update or a deadlock)",
)

A, P, R, E = (
    AccountKind.available,
    AccountKind.pending,
    AccountKind.reserved,
    AccountKind.external,
)
OPERATIONS = 1_000
IN_FLIGHT = 32
#: Settlements pick among the most recent holds, so that posts and voids collide on them.
RECENT_HOLDS = 8
#: The refusals each operation may meet. Settling a pending hold moves money the hold
#: reserved, so it is never short of funds: only the other settlement can stop it.
EXPECTED_FAILURES: dict[str, tuple[type[Exception], ...]] = {
    "deposit": (),
    "deposit_pending": (),
    "release": (InsufficientFunds,),
    "refund": (InsufficientFunds,),
    "hold": (InsufficientFunds,),
    "post_hold": (HoldSettled,),
    "void_hold": (HoldSettled,),
}


@dataclass
class Race:
    """What the racing operations did, kept by the test alone."""

    balances: dict[tuple[AccountKind, str, str], int] = field(
        default_factory=lambda: defaultdict(int)
    )
    transactions: int = 0
    holds: dict[uuid.UUID, int] = field(default_factory=dict)
    settled: dict[uuid.UUID, list[HoldStatus]] = field(default_factory=lambda: defaultdict(list))
    succeeded: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    def took_effect(self, legs: list[Leg]) -> None:
        for leg in legs:
            self.balances[leg.key] += leg.amount_minor
        self.transactions += 1

    def recent_hold(self, rng: random.Random) -> uuid.UUID:
        return rng.choice(list(self.holds)[-RECENT_HOLDS:])


def _operation(
    database: Database, user: uuid.UUID, race: Race, rng: random.Random
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """One random operation: its name and the coroutine function that runs it."""
    currency = "USD"
    roll = rng.random()
    # Money comes in a little slower than it goes out, so debits keep meeting empty balances.
    amount = rng.randint(50, 900) if roll < 0.33 else rng.randint(100, 1_500)

    async def post(legs: list[Leg], kind: TransactionKind) -> None:
        async with unit_of_work(database) as session:
            posted = await ledger.post(
                session, user, legs, kind=kind, key=f"{kind.value}:{uuid.uuid4()}"
            )
        assert not posted.replayed
        race.took_effect(legs)

    async def payout_hold() -> None:
        async with unit_of_work(database) as session:
            held = await ledger.hold(
                session,
                user,
                amount_minor=amount,
                currency=currency,
                key=f"payout:{uuid.uuid4()}",
                purpose="payout",
            )
        race.took_effect([Leg(A, -amount, currency), Leg(R, amount, currency)])
        race.holds[held.id] = amount

    async def settle(target: HoldStatus) -> None:
        hold_id = race.recent_hold(rng)
        async with unit_of_work(database) as session:
            if target is HoldStatus.posted:
                settled = await ledger.post_hold(session, hold_id, provider=PROVIDER)
            else:
                settled = await ledger.void_hold(session, hold_id)
        if settled.replayed:
            return None
        held = race.holds[hold_id]
        back = (
            Leg(E, held, currency, PROVIDER)
            if target is HoldStatus.posted
            else Leg(A, held, currency)
        )
        race.took_effect([Leg(R, -held, currency), back])
        race.settled[hold_id].append(target)
        return None

    if roll < 0.25:
        return "deposit", lambda: post(payment_legs(amount, currency), TransactionKind.payment)
    if roll < 0.33:
        return "deposit_pending", lambda: post(
            payment_legs(amount, currency, into=P), TransactionKind.payment
        )
    if roll < 0.41:
        return "release", lambda: post(release_legs(amount, currency), TransactionKind.release)
    if roll < 0.55:
        return "refund", lambda: post(refund_legs(amount, currency), TransactionKind.refund)
    if roll < 0.75:
        return "hold", payout_hold
    if roll < 0.88:
        return "post_hold", lambda: settle(HoldStatus.posted)
    return "void_hold", lambda: settle(HoldStatus.voided)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_thousand_concurrent_operations_on_one_user_lose_nothing(
    database: Database, database_url: str
) -> None:
    engine = create_engine(database_url, pool_size=IN_FLIGHT + 2)
    racing = Database(engine, async_sessionmaker(engine, expire_on_commit=False))
    user = uuid.uuid4()
    race = Race()
    rng = random.Random(20261203)
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def run(name: str, operation: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            try:
                await operation()
            except EXPECTED_FAILURES[name] as refused:
                race.refused[f"{name}: {type(refused).__name__}"] += 1
            except Exception as failure:
                first_line = str(failure).splitlines()[0] if str(failure) else ""
                race.unexpected.append(f"{name}: {type(failure).__name__}: {first_line[:300]}")
            else:
                race.succeeded[name] += 1

    try:
        async with unit_of_work(racing) as session:
            opening = payment_legs(5_000, "USD")
            await ledger.post(session, user, opening, kind=TransactionKind.payment, key="opening")
        race.took_effect(opening)
        for _ in range(RECENT_HOLDS):  # settlements have holds to race on from the start
            async with unit_of_work(racing) as session:
                held = await ledger.hold(
                    session,
                    user,
                    amount_minor=100,
                    currency="USD",
                    key=f"payout:{uuid.uuid4()}",
                    purpose="payout",
                )
            race.took_effect([Leg(A, -100, "USD"), Leg(R, 100, "USD")])
            race.holds[held.id] = 100

        operations = [_operation(racing, user, race, rng) for _ in range(OPERATIONS)]
        started = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(*(run(name, operation) for name, operation in operations)),
            timeout=180,
        )
        elapsed = time.monotonic() - started
        print(  # shown with -s: the figures behind the verdict
            f"{OPERATIONS} operations in {elapsed:.1f} s; succeeded {dict(race.succeeded)}; "
            f"refused {dict(race.refused)}"
        )

        assert race.unexpected == [], "\n".join(
            f"{count} x {failure}" for failure, count in Counter(race.unexpected).most_common()
        )
        assert sum(race.succeeded.values()) + sum(race.refused.values()) == OPERATIONS
        assert {"deposit", "release", "refund", "hold", "post_hold", "void_hold"} <= set(
            race.succeeded
        ), race.succeeded
        assert race.refused["hold: InsufficientFunds"] + race.refused["refund: InsufficientFunds"]

        balances = await kept_balances(racing, user)
        assert balances == {key: amount for key, amount in race.balances.items() if amount}
        assert all(amount >= 0 for key, amount in balances.items() if key[0] in NON_NEGATIVE)

        transactions = await all_transactions(racing, user)
        assert len(transactions) == race.transactions
        assert unbalanced(transactions) == []

        twice = {hold_id: ways for hold_id, ways in race.settled.items() if len(ways) > 1}
        assert twice == {}, "holds settled more than once"
        still_pending = 0
        async with unit_of_work(racing) as session:
            for hold_id, amount in race.holds.items():
                held = await ledger.get_hold(session, hold_id)
                expected = race.settled[hold_id][0] if race.settled[hold_id] else HoldStatus.pending
                assert held.status is expected, (hold_id, held.status, expected)
                still_pending += amount if expected is HoldStatus.pending else 0
            report = await ledger.verify(session)
        assert (await wallet(racing, user)).reserved_minor == still_pending
        assert report.clean, report.problems()
    finally:
        await racing.dispose()
