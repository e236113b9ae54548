"""All of the ledger's SQL. Balances move only through `post` (and `apply` under it), which
lock the accounts one by one in id order, so concurrent postings on one user queue on the
account rows and never deadlock, and a debit that would overdraw changes nothing.

On PostgreSQL through asyncpg, a posting (`post`) is one statement, sent as written with
`exec_driver_sql` (no compilation) on the unit of work's connection and transaction; asyncpg
keeps it prepared per connection. One statement instead of four round trips, and no statement
compilation, roughly halves the Python a posting costs. Every other database (SQLite) takes
the SQLAlchemy Core path: `insert_transaction`, then `apply`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.kit.clock import utcnow
from gigforge.kit.db import dialect_insert, json_dumps
from gigforge.kit.types import UTCDateTime
from gigforge.ledger.kinds import NON_NEGATIVE, AccountKind, HoldStatus, TransactionKind
from gigforge.ledger.models import LedgerAccount, LedgerHold, LedgerPosting, LedgerTransaction

AccountKey = tuple[AccountKind, str, str]  # kind, currency, provider

_ACCOUNTS = cast(Table, LedgerAccount.__table__)
_TRANSACTIONS = cast(Table, LedgerTransaction.__table__)
_POSTINGS = cast(Table, LedgerPosting.__table__)
#: (database, user, kind, currency, provider) -> account id, for committed accounts only.
_ACCOUNT_IDS: dict[tuple[Any, ...], uuid.UUID] = {}
_ACCOUNT_CACHE_SIZE = 200_000
#: `session.info` key: ids of the accounts this session's transaction created.
_CREATED_HERE = "gigforge.ledger.created_accounts"
# Core statements, compiled once: the hot path skips the ORM.
_TRANSACTION_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "idempotency_key",
    "fingerprint",
    "description",
    "reference_type",
    "reference_id",
    "hold_id",
    "details",
    "occurred_at",
    "created_at",
)
_CREDIT = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account"))
    .values(balance_minor=_ACCOUNTS.c.balance_minor + bindparam("delta"))
    .returning(_ACCOUNTS.c.id)
)


def _pg_insert() -> Any:
    """One statement for a transaction and its postings on PostgreSQL: the postings come
    from the transaction insert's RETURNING, so a key already used writes nothing at all.
    The legs travel as three arrays, so one compiled statement serves any number of them."""
    transaction = (
        postgresql.insert(_TRANSACTIONS)
        .values({name: bindparam(name) for name in _TRANSACTION_COLUMNS})
        .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"])
        .returning(_TRANSACTIONS.c.id)
        .cte("tx")
    )
    legs = select(
        func.unnest(bindparam("legs_account", type_=postgresql.ARRAY(Uuid()))).label("account_id"),
        func.unnest(bindparam("legs_amount", type_=postgresql.ARRAY(BigInteger()))).label(
            "amount_minor"
        ),
        func.unnest(bindparam("legs_currency", type_=postgresql.ARRAY(String()))).label("currency"),
    ).subquery("legs")
    return (
        insert(_POSTINGS)
        .from_select(
            ["transaction_id", "account_id", "amount_minor", "currency"],
            select(
                transaction.c.id, legs.c.account_id, legs.c.amount_minor, legs.c.currency
            ).select_from(transaction.join(legs, true())),
        )
        .returning(_POSTINGS.c.transaction_id)
    )


_DEBIT = (
    update(_ACCOUNTS)
    .where(
        _ACCOUNTS.c.id == bindparam("account"),
        or_(_ACCOUNTS.c.allow_negative, _ACCOUNTS.c.balance_minor + bindparam("delta") >= 0),
    )
    .values(balance_minor=_ACCOUNTS.c.balance_minor + bindparam("delta"))
    .returning(_ACCOUNTS.c.id)
)


_PG_INSERT = _pg_insert()
_UTC = UTCDateTime()
_PG_DIALECT = PGDialect()  # type: ignore[no-untyped-call]
_COLUMN_LIST = ", ".join(_TRANSACTION_COLUMNS)
_VALUE_LIST = ", ".join(
    f"${n}::{_TRANSACTIONS.c[name].type.compile(dialect=_PG_DIALECT)}"
    for n, name in enumerate(_TRANSACTION_COLUMNS, start=6)
)

#: A whole posting in one statement, for asyncpg. $1-$3 are the legs (account, amount,
#: currency, as arrays), $4-$5 the balance moves (account, delta), then the transaction's
#: columns in the order of `_TRANSACTION_COLUMNS`.
#:
#: `locked` takes the account rows one by one in id order (LockRows above the Sort), so
#: concurrent postings queue on them and never deadlock. FOR NO KEY UPDATE is the lock an
#: UPDATE takes: it does not conflict with the KEY SHARE locks of foreign key checks. `tx`
#: waits on the scalar subquery that reads every locked row, so all of them are held before
#: anything is written; it writes nothing when the key was used. The postings and the balance
#: moves follow `tx`. `moved` checks each debit in its own WHERE, which PostgreSQL evaluates
#: on the row version it changes. (Deciding on balances read by `locked` let concurrent debits
#: overdraw in a stress run: the no_overdraft CHECK refused them, but the decision was wrong.)
#: The foreign key checks run at the end of the statement, so their KEY SHARE locks land on
#: account rows this transaction already holds, not on rows other postings are queued for.
#: The answer: whether the transaction was written, the accounts moved, and the first account
#: in id order that was not (it could not cover its debit).
_ASYNCPG_POST = f"""
WITH moves AS (
    SELECT * FROM unnest($4::uuid[], $5::bigint[]) AS moves (account_id, delta)
),
locked AS (
    SELECT account.id FROM ledger_accounts AS account
    WHERE account.id = ANY($4::uuid[])
    ORDER BY account.id
    FOR NO KEY UPDATE
),
tx AS (
    INSERT INTO ledger_transactions ({_COLUMN_LIST})
    SELECT {_VALUE_LIST}
    WHERE (SELECT count(*) FROM locked) >= 0
    ON CONFLICT (user_id, idempotency_key) DO NOTHING
    RETURNING id
),
posted AS (
    INSERT INTO ledger_postings (transaction_id, account_id, amount_minor, currency)
    SELECT tx.id, legs.account_id, legs.amount_minor, legs.currency
    FROM tx, unnest($1::uuid[], $2::bigint[], $3::varchar[]) WITH ORDINALITY
        AS legs (account_id, amount_minor, currency, position)
    ORDER BY legs.position
),
moved AS (
    UPDATE ledger_accounts AS account
    SET balance_minor = account.balance_minor + moves.delta
    FROM moves, tx
    WHERE account.id = moves.account_id
        AND (moves.delta >= 0 OR account.allow_negative OR account.balance_minor + moves.delta >= 0)
    RETURNING account.id
)
SELECT EXISTS (SELECT FROM tx) AS written,
    ARRAY(SELECT id FROM moved) AS moved,
    (SELECT account_id FROM moves WHERE account_id NOT IN (SELECT id FROM moved)
        ORDER BY account_id LIMIT 1) AS short
"""  # noqa: S608 (what goes in is the model's column names and types)


def _asyncpg_value(column: str, value: Any) -> Any:
    """A transaction's value as asyncpg takes it, with the checks SQLAlchemy's column types
    make: JSON serialized as the engine does, datetimes timezone-aware (in UTC)."""
    if column == "details":
        return json_dumps(value)
    if isinstance(value, datetime):
        return _UTC.process_bind_param(value, _PG_DIALECT)
    return value


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Accounts

    async def accounts(
        self, user_id: uuid.UUID, keys: Iterable[AccountKey], *, create: bool = True
    ) -> dict[AccountKey, uuid.UUID]:
        """The ids of the user's accounts for these keys, creating the missing ones.

        Accounts are never deleted or re-keyed, so ids read from committed rows are kept in a
        per-process cache; ids this transaction created are not, until they are committed."""
        wanted = set(keys)
        database = str(self.session.get_bind().engine.url)
        found = {
            key: cached
            for key in wanted
            if (cached := _ACCOUNT_IDS.get((database, user_id, *key))) is not None
        }
        if len(found) == len(wanted):
            return found
        created: set[uuid.UUID] = self.session.info.setdefault(_CREATED_HERE, set())
        looked_up = await self._account_ids(user_id, wanted - found.keys())
        missing = wanted - found.keys() - looked_up.keys()
        if missing and create:
            rows = [
                {
                    "id": uuid.uuid4(),
                    "user_id": user_id,
                    "kind": kind.value,
                    "currency": currency,
                    "provider": provider,
                    "allow_negative": kind not in NON_NEGATIVE,
                    "balance_minor": 0,
                    "created_at": utcnow(),
                }
                for kind, currency, provider in sorted(missing)
            ]
            insert_rows = (
                dialect_insert(self.session, LedgerAccount)
                .values(rows)
                .on_conflict_do_nothing()
                .returning(_ACCOUNTS.c.id)
            )
            connection = await self.session.connection()
            created.update(row[0] for row in await connection.execute(insert_rows))
            looked_up.update(await self._account_ids(user_id, missing))
        for key, account_id in looked_up.items():
            if account_id not in created:
                if len(_ACCOUNT_IDS) >= _ACCOUNT_CACHE_SIZE:
                    _ACCOUNT_IDS.clear()
                _ACCOUNT_IDS[(database, user_id, *key)] = account_id
        found.update(looked_up)
        return found

    async def _account_ids(
        self, user_id: uuid.UUID, keys: set[AccountKey]
    ) -> dict[AccountKey, uuid.UUID]:
        if not keys:
            return {}
        connection = await self.session.connection()
        rows = await connection.execute(
            select(
                _ACCOUNTS.c.kind, _ACCOUNTS.c.currency, _ACCOUNTS.c.provider, _ACCOUNTS.c.id
            ).where(
                _ACCOUNTS.c.user_id == user_id,
                tuple_(_ACCOUNTS.c.kind, _ACCOUNTS.c.currency, _ACCOUNTS.c.provider).in_(
                    [(kind.value, currency, provider) for kind, currency, provider in keys]
                ),
            )
        )
        return {
            (AccountKind(kind), currency, provider): id for kind, currency, provider, id in rows
        }

    async def user_accounts(self, user_id: uuid.UUID) -> Sequence[LedgerAccount]:
        result = await self.session.execute(
            select(LedgerAccount)
            .where(LedgerAccount.user_id == user_id)
            .order_by(LedgerAccount.currency, LedgerAccount.kind, LedgerAccount.provider)
        )
        return result.scalars().all()

    async def post(
        self,
        values: Mapping[str, Any],
        postings: Sequence[Mapping[str, Any]],
        deltas: Mapping[uuid.UUID, int],
    ) -> tuple[bool, uuid.UUID | None]:
        """Write a transaction with its postings and move the balances by `deltas`, all or
        nothing: (True, None) when written; (False, None) when the user already has a
        transaction with this idempotency key; (False, account) when that account (the first
        in id order) cannot cover its debit.

        On PostgreSQL through asyncpg the written case is one statement; a refusal then takes
        back what moved and what was written. Elsewhere the transaction is inserted first,
        then `apply` moves the balances and a refusal takes the transaction out again."""
        moving = {account_id: delta for account_id, delta in deltas.items() if delta}
        connection = await self.session.connection()
        if connection.dialect.paramstyle != "numeric_dollar":  # not PostgreSQL via asyncpg
            if not await self.insert_transaction(values, postings):
                return False, None
            refused = await self.apply(moving)
            if refused is not None:
                await self.forget(values["id"])
                return False, refused
            return True, None
        # The statement is sent as written (no compilation), on the unit of work's connection
        # and transaction, with SQLAlchemy's error handling.
        result = await connection.exec_driver_sql(
            _ASYNCPG_POST,
            (
                [posting["account_id"] for posting in postings],
                [posting["amount_minor"] for posting in postings],
                [posting["currency"] for posting in postings],
                list(moving),
                list(moving.values()),
                *(_asyncpg_value(name, values[name]) for name in _TRANSACTION_COLUMNS),
            ),
        )
        written, moved, short = tuple(result.one())
        if not written:
            return False, None
        if short is None:
            return True, None
        await self.apply({account_id: -moving[account_id] for account_id in moved})
        await self.forget(values["id"])
        return False, short

    async def apply(self, deltas: Mapping[uuid.UUID, int]) -> uuid.UUID | None:
        """Add each delta to its account's balance, in id order. A debit that would take a
        non-negative account below zero stops there: what was applied is taken back and the
        account that refused is returned. None when every delta applied.

        Locking the rows one by one in primary-key order is what keeps two transactions on
        the same accounts from deadlocking (a single multi-row UPDATE locks in scan order,
        which PostgreSQL does not promise)."""
        moving = {account_id: delta for account_id, delta in deltas.items() if delta}
        if not moving:
            return None
        connection = await self.session.connection()
        applied: list[tuple[uuid.UUID, int]] = []
        for account_id in sorted(moving):
            delta = moving[account_id]
            statement = _CREDIT if delta > 0 else _DEBIT
            result = await connection.execute(statement, {"account": account_id, "delta": delta})
            if result.first() is None:
                for undo_id, undo in reversed(applied):
                    await connection.execute(_CREDIT, {"account": undo_id, "delta": -undo})
                return account_id
            applied.append((account_id, delta))
        return None

    async def account(self, account_id: uuid.UUID) -> LedgerAccount | None:
        return await self.session.get(LedgerAccount, account_id)

    # Transactions

    async def insert_transaction(
        self, values: Mapping[str, Any], postings: Sequence[Mapping[str, Any]]
    ) -> bool:
        """Insert the transaction and its postings unless the user already has a transaction
        with this idempotency key (then nothing is written). On PostgreSQL it is one
        statement; elsewhere two."""
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            result = await connection.execute(
                _PG_INSERT,
                {
                    **values,
                    "legs_account": [posting["account_id"] for posting in postings],
                    "legs_amount": [posting["amount_minor"] for posting in postings],
                    "legs_currency": [posting["currency"] for posting in postings],
                },
            )
            return result.first() is not None
        inserted = await connection.execute(
            sqlite.insert(_TRANSACTIONS)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"])
            .returning(_TRANSACTIONS.c.id)
        )
        if inserted.first() is None:
            return False
        await connection.execute(_POSTINGS.insert(), [dict(posting) for posting in postings])
        return True

    async def forget(self, transaction_id: uuid.UUID) -> None:
        """Remove a transaction refused before it took effect (its debits did not apply)."""
        await self.session.execute(
            delete(LedgerPosting).where(LedgerPosting.transaction_id == transaction_id)
        )
        await self.session.execute(
            delete(LedgerTransaction).where(LedgerTransaction.id == transaction_id)
        )

    async def by_key(self, user_id: uuid.UUID, key: str) -> LedgerTransaction | None:
        result = await self.session.execute(
            select(LedgerTransaction).where(
                LedgerTransaction.user_id == user_id, LedgerTransaction.idempotency_key == key
            )
        )
        return result.scalars().first()

    async def transaction(
        self, transaction_id: uuid.UUID, *, user_id: uuid.UUID | None = None
    ) -> LedgerTransaction | None:
        statement = select(LedgerTransaction).where(LedgerTransaction.id == transaction_id)
        if user_id is not None:
            statement = statement.where(LedgerTransaction.user_id == user_id)
        return (await self.session.execute(statement)).scalars().first()

    async def postings(
        self, transaction_ids: Sequence[uuid.UUID]
    ) -> Sequence[tuple[LedgerPosting, LedgerAccount]]:
        if not transaction_ids:
            return ()
        result = await self.session.execute(
            select(LedgerPosting, LedgerAccount)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(LedgerPosting.transaction_id.in_(transaction_ids))
            .order_by(LedgerPosting.id)
        )
        return [(posting, account) for posting, account in result.all()]

    async def list_transactions(
        self,
        user_id: uuid.UUID,
        *,
        kinds: Sequence[TransactionKind] = (),
        currency: str | None = None,
        reference_id: str | None = None,
        before: uuid.UUID | None = None,
        after: uuid.UUID | None = None,
        limit: int,
    ) -> Sequence[LedgerTransaction]:
        """Newest first; `before` and `after` are id bounds (a cursor, or a time's floor)."""
        statement = select(LedgerTransaction).where(LedgerTransaction.user_id == user_id)
        if kinds:
            statement = statement.where(LedgerTransaction.kind.in_(kinds))
        if reference_id is not None:
            statement = statement.where(LedgerTransaction.reference_id == reference_id)
        if before is not None:
            statement = statement.where(LedgerTransaction.id < before)
        if after is not None:
            statement = statement.where(LedgerTransaction.id >= after)
        if currency is not None:
            statement = statement.where(
                exists().where(
                    LedgerPosting.transaction_id == LedgerTransaction.id,
                    LedgerPosting.currency == currency,
                )
            )
        result = await self.session.execute(
            statement.order_by(LedgerTransaction.id.desc()).limit(limit)
        )
        return result.scalars().all()

    async def net_to_user(
        self, user_id: uuid.UUID, kinds: Sequence[TransactionKind]
    ) -> dict[str, int]:
        """Per currency, what transactions of these kinds put into the user's own accounts."""
        own = (AccountKind.available, AccountKind.pending, AccountKind.reserved, AccountKind.owed)
        result = await self.session.execute(
            select(LedgerPosting.currency, func.coalesce(func.sum(LedgerPosting.amount_minor), 0))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
            .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
            .where(
                LedgerTransaction.user_id == user_id,
                LedgerTransaction.kind.in_(kinds),
                LedgerAccount.kind.in_(own),
            )
            .group_by(LedgerPosting.currency)
        )
        return {currency: int(total) for currency, total in result.all()}

    # Holds

    async def insert_hold(self, values: Mapping[str, Any]) -> None:
        insert = (
            dialect_insert(self.session, LedgerHold)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key"])
        )
        await self.session.execute(insert)

    async def hold(self, hold_id: uuid.UUID) -> LedgerHold | None:
        result = await self.session.execute(
            select(LedgerHold)
            .where(LedgerHold.id == hold_id)
            .execution_options(populate_existing=True)
        )
        return result.scalars().first()

    async def hold_by_key(self, user_id: uuid.UUID, key: str) -> LedgerHold | None:
        result = await self.session.execute(
            select(LedgerHold).where(
                LedgerHold.user_id == user_id, LedgerHold.idempotency_key == key
            )
        )
        return result.scalars().first()

    async def settle_hold(self, hold_id: uuid.UUID, status: HoldStatus, at: datetime) -> bool:
        """Move a pending hold to posted or voided; False when it was no longer pending."""
        result = await self.session.execute(
            update(LedgerHold)
            .where(LedgerHold.id == hold_id, LedgerHold.status == HoldStatus.pending)
            .values(status=status, settled_at=at)
            .returning(LedgerHold.id),
            execution_options={"synchronize_session": False},
        )
        return result.first() is not None

    async def set_settle_transaction(self, hold_id: uuid.UUID, transaction_id: uuid.UUID) -> None:
        await self.session.execute(
            update(LedgerHold)
            .where(LedgerHold.id == hold_id)
            .values(settle_transaction_id=transaction_id),
            execution_options={"synchronize_session": False},
        )

    # Verification

    async def balance_mismatches(self) -> Sequence[tuple[uuid.UUID, int, int]]:
        """Accounts whose kept balance differs from the sum of their postings."""
        sums = (
            select(
                LedgerPosting.account_id.label("account_id"),
                func.sum(LedgerPosting.amount_minor).label("total"),
            )
            .group_by(LedgerPosting.account_id)
            .subquery()
        )
        total = func.coalesce(sums.c.total, 0)
        result = await self.session.execute(
            select(LedgerAccount.id, LedgerAccount.balance_minor, total)
            .outerjoin(sums, sums.c.account_id == LedgerAccount.id)
            .where(LedgerAccount.balance_minor != total)
        )
        return [(id, int(kept), int(summed)) for id, kept, summed in result.all()]

    async def unbalanced_transactions(self) -> Sequence[tuple[uuid.UUID, str, int]]:
        result = await self.session.execute(
            select(
                LedgerPosting.transaction_id,
                LedgerPosting.currency,
                func.sum(LedgerPosting.amount_minor),
            )
            .group_by(LedgerPosting.transaction_id, LedgerPosting.currency)
            .having(func.sum(LedgerPosting.amount_minor) != 0)
        )
        return [(id, currency, int(total)) for id, currency, total in result.all()]

    async def thin_transactions(self) -> Sequence[uuid.UUID]:
        """Transactions with fewer than two postings."""
        counts = (
            select(LedgerPosting.transaction_id, func.count().label("n"))
            .group_by(LedgerPosting.transaction_id)
            .subquery()
        )
        result = await self.session.execute(
            select(LedgerTransaction.id)
            .outerjoin(counts, counts.c.transaction_id == LedgerTransaction.id)
            .where(func.coalesce(counts.c.n, 0) < 2)
        )
        return result.scalars().all()

    async def overdrawn(self) -> Sequence[uuid.UUID]:
        result = await self.session.execute(
            select(LedgerAccount.id).where(
                and_(~LedgerAccount.allow_negative, LedgerAccount.balance_minor < 0)
            )
        )
        return result.scalars().all()

    async def hold_mismatches(self) -> Sequence[tuple[uuid.UUID, str, int, int]]:
        """(user, currency, reserved balance, pending holds) where they differ."""
        holds = (
            select(
                LedgerHold.user_id.label("user_id"),
                LedgerHold.currency.label("currency"),
                func.sum(LedgerHold.amount_minor).label("held"),
            )
            .where(LedgerHold.status == HoldStatus.pending)
            .group_by(LedgerHold.user_id, LedgerHold.currency)
            .subquery()
        )
        held = func.coalesce(holds.c.held, 0)
        result = await self.session.execute(
            select(LedgerAccount.user_id, LedgerAccount.currency, LedgerAccount.balance_minor, held)
            .outerjoin(
                holds,
                and_(
                    holds.c.user_id == LedgerAccount.user_id,
                    holds.c.currency == LedgerAccount.currency,
                ),
            )
            .where(LedgerAccount.kind == AccountKind.reserved, LedgerAccount.balance_minor != held)
        )
        return [(u, c, int(b), int(h)) for u, c, b, h in result.all()]

    async def account_count(self) -> int:
        return int((await self.session.execute(select(func.count(LedgerAccount.id)))).scalar_one())
