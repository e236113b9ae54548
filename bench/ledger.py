"""Ledger postings per second: on one hot account, and spread over 1,000 accounts, on SQLite
and on PostgreSQL.

Each operation is what a payment or a payout pays: a unit of work that commits one balanced
transaction of two postings through `ledger.post` (idempotency key checked, accounts found,
postings written, kept balances moved with the overdraft check). The hot-account run has
`--workers` concurrent writers all moving money in and out of one user's available balance,
which serializes them on that account's row; the spread run gives each operation a random one
of 1,000 users. The baseline is the floor under both: the same transaction and posting rows
written with no balance kept and no checks (plain INSERTs, one commit), on the same database
in the same run.

With `--processes N` the writers are split over N processes (each with its own engine and
pool), as a scaled-out deployment runs several API or worker processes against one database:
one Python process is itself a bottleneck on a small machine, and the hot account's lock is
then the only thing the processes share. The rows say how many processes ran them.

    python bench/ledger.py [--seconds 5] [--workers 16] [--processes 1]
                           [--databases sqlite,postgresql]

GIGFORGE_BENCH_POSTGRES_URL (or GIGFORGE_TEST_POSTGRES_URL) names the PostgreSQL server; its
rows are skipped when neither is set. The schema there is dropped and recreated.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.ids import uuid7
from gigforge.ledger.kinds import AccountKind, TransactionKind
from gigforge.ledger.models import LedgerPosting, LedgerTransaction
from gigforge.ledger.service import Leg, ledger
from gigforge.migrations import upgrade

Operation = Callable[[int], Awaitable[int]]
ROWS = ("baseline (plain inserts)", "one hot account", "1,000 accounts")
#: Operation numbers of process i start at i * PROCESS_STRIDE, so idempotency keys never meet.
PROCESS_STRIDE = 1_000_000_000


async def _run(operation: Operation, seconds: float, workers: int, offset: int = 0) -> int:
    """Postings made by `workers` loops calling `operation` for `seconds`."""
    deadline = time.perf_counter() + seconds
    counts = [0] * workers

    async def loop(index: int) -> None:
        n = 0
        while time.perf_counter() < deadline:
            counts[index] += await operation(offset + index * 10_000_000 + n)
            n += 1

    await asyncio.gather(*(loop(index) for index in range(workers)))
    return sum(counts)


def _operations(
    database: Database, hot: uuid.UUID, users: list[uuid.UUID], accounts: list[uuid.UUID]
) -> dict[str, Operation]:
    def legs(n: int) -> list[Leg]:
        amount = 100 + n % 50
        sign = 1 if n % 2 else -1
        return [
            Leg(AccountKind.external, -sign * amount, "USD", "bench"),
            Leg(AccountKind.available, sign * amount, "USD"),
        ]

    async def on_hot(n: int) -> int:
        async with unit_of_work(database) as session:
            await ledger.post(
                session, hot, legs(n), kind=TransactionKind.adjustment, key=f"hot-{n}"
            )
        return 2

    async def spread(n: int) -> int:
        async with unit_of_work(database) as session:
            await ledger.post(
                session,
                random.choice(users),
                legs(n),
                kind=TransactionKind.adjustment,
                key=f"spread-{n}",
            )
        return 2

    async def baseline(n: int) -> int:
        transaction_id = uuid7()
        now = utcnow()
        async with unit_of_work(database) as session:
            await session.execute(
                LedgerTransaction.__table__.insert(),
                [
                    {
                        "id": transaction_id,
                        "user_id": hot,
                        "kind": TransactionKind.adjustment.value,
                        "idempotency_key": f"base-{n}",
                        "fingerprint": "0" * 64,
                        "description": "",
                        "details": {},
                        "occurred_at": now,
                        "created_at": now,
                    }
                ],
            )
            await session.execute(
                LedgerPosting.__table__.insert(),
                [
                    {
                        "transaction_id": transaction_id,
                        "account_id": account,
                        "amount_minor": 1,
                        "currency": "USD",
                    }
                    for account in accounts
                ],
            )
        return 2

    return dict(zip(ROWS, (baseline, on_hot, spread), strict=True))


async def _process_row(
    url: str,
    row: str,
    hot: uuid.UUID,
    users: list[uuid.UUID],
    accounts: list[uuid.UUID],
    seconds: float,
    workers: int,
    offset: int,
) -> int:
    database = Database.from_url(url)
    try:
        operation = _operations(database, hot, users, accounts)[row]
        return await _run(operation, seconds, workers, offset)
    finally:
        await database.dispose()


def _in_process(*args: Any) -> int:
    return asyncio.run(_process_row(*args))


def _rate(
    url: str,
    row: str,
    operation: Operation,
    context: tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]],
    args: argparse.Namespace,
) -> float:
    """Postings per second of one row, from this process or from `args.processes` others."""
    started = time.perf_counter()
    if args.processes == 1:
        total = asyncio.get_event_loop().run_until_complete(
            _run(operation, args.seconds, args.workers)
        )
    else:
        share = max(1, args.workers // args.processes)
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.processes, mp_context=spawn) as pool:
            # Start every process (imports, engine) before the clock: one short run each.
            list(pool.map(_warm, range(args.processes)))
            started = time.perf_counter()
            futures = [
                pool.submit(
                    _in_process, url, row, *context, args.seconds, share, i * PROCESS_STRIDE
                )
                for i in range(args.processes)
            ]
            total = sum(future.result() for future in futures)
    return total / (time.perf_counter() - started)


def _warm(_index: int) -> None:
    """Nothing: makes the pool start its process before the timed run."""


async def _setup(url: str) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    database = Database.from_url(url)
    if database.engine.dialect.name == "postgresql":
        async with database.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await upgrade(database.engine)
    hot = uuid.uuid4()
    users = [uuid.uuid4() for _ in range(1000)]
    # Seed every balance so withdrawals never run dry.
    for user in [hot, *users]:
        async with unit_of_work(database) as session:
            await ledger.post(
                session,
                user,
                [
                    Leg(AccountKind.external, -(10**12), "USD", "bench"),
                    Leg(AccountKind.available, 10**12, "USD"),
                ],
                kind=TransactionKind.payment,
                key="seed",
            )
    async with unit_of_work(database) as session:
        accounts = [account.id for account in await ledger.accounts(session, hot)]
    await database.dispose()
    return hot, users, accounts


async def _verify(url: str) -> None:
    database = Database.from_url(url)
    async with unit_of_work(database) as session:
        # The baseline's rows keep no balance; take them out before checking the rest.
        await session.execute(
            text(
                "DELETE FROM ledger_postings WHERE transaction_id IN (SELECT id FROM "
                "ledger_transactions WHERE idempotency_key LIKE 'base-%')"
            )
        )
        await session.execute(
            text("DELETE FROM ledger_transactions WHERE idempotency_key LIKE 'base-%'")
        )
    async with unit_of_work(database) as session:
        report = await ledger.verify(session)
    await database.dispose()
    if not report.clean:
        raise SystemExit("ledger verify failed: " + "; ".join(report.problems()[:10]))


def _bench(url: str, args: argparse.Namespace) -> dict[str, float]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        context = loop.run_until_complete(_setup(url))
        database = Database.from_url(url)
        operations = _operations(database, *context)
        results = {row: _rate(url, row, operations[row], context, args) for row in ROWS}
        loop.run_until_complete(database.dispose())
        loop.run_until_complete(_verify(url))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    wanted = set(args.databases.split(","))
    runs: list[tuple[str, str]] = []
    tmp = tempfile.TemporaryDirectory()
    if "sqlite" in wanted:
        runs.append(("SQLite", f"sqlite+aiosqlite:///{tmp.name}/ledger.db"))
    postgres = os.environ.get("GIGFORGE_BENCH_POSTGRES_URL") or os.environ.get(
        "GIGFORGE_TEST_POSTGRES_URL"
    )
    if "postgresql" in wanted:
        if postgres:
            asyncpg_url = make_url(postgres).set(drivername="postgresql+asyncpg")
            runs.append(("PostgreSQL", asyncpg_url.render_as_string(hide_password=False)))
        else:
            print("PostgreSQL: skipped (set GIGFORGE_BENCH_POSTGRES_URL)")
    processes = "1 process" if args.processes == 1 else f"{args.processes} processes"
    print(
        f"{args.workers} concurrent writers in {processes}, {args.seconds:.0f} s per row; "
        "2 postings each"
    )
    for name, url in runs:
        results = _bench(url, args)
        for label, rate in results.items():
            print(f"{name:<11} {label:<26} {rate:>8.0f} postings/s  ({processes})")
        print(f"{name:<11} ledger verify: clean")
    tmp.cleanup()


if __name__ == "__main__":
    main()
