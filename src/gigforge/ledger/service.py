"""The ledger's rules: balanced, idempotent, immutable transactions and holds.

`post` is the only way money moves. It checks that the postings sum to zero per currency,
writes the transaction once per idempotency key (the same key with other content is an
`IdempotencyConflict`; with the same content it returns the first one), and moves the kept
balances in one conditional UPDATE per account, so a debit that would overdraw a
non-negative account is refused (`InsufficientFunds`) and leaves nothing written. A hold
reserves money (available to reserved) until it is posted (reserved to the outside world) or
voided (back to available). The service never commits.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.kit.clock import utcnow
from gigforge.kit.ids import uuid7, uuid7_floor
from gigforge.ledger.errors import (
    HoldNotFound,
    HoldSettled,
    IdempotencyConflict,
    InsufficientFunds,
    TransactionNotFound,
    UnbalancedTransaction,
)
from gigforge.ledger.kinds import AccountKind, HoldStatus, TransactionKind
from gigforge.ledger.models import LedgerAccount, LedgerHold, LedgerTransaction
from gigforge.ledger.repository import AccountKey, LedgerRepository

MAX_KEY_LENGTH = 200
#: Transactions whose postings on the user's own accounts are what the user earned.
EARNING_KINDS = (
    TransactionKind.payment,
    TransactionKind.refund,
    TransactionKind.dispute,
    TransactionKind.dispute_won,
)


@dataclass(frozen=True)
class Leg:
    """One posting to make: an amount (positive in, negative out) on one of the user's
    accounts, named by kind, currency and (for the outside world) provider."""

    kind: AccountKind
    amount_minor: int
    currency: str
    provider: str = ""

    @property
    def key(self) -> AccountKey:
        return (self.kind, self.currency, self.provider)


@dataclass(frozen=True)
class PostingView:
    account_id: uuid.UUID
    account_kind: AccountKind
    provider: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class TransactionView:
    id: uuid.UUID
    user_id: uuid.UUID
    kind: TransactionKind
    idempotency_key: str
    description: str
    reference_type: str | None
    reference_id: str | None
    hold_id: uuid.UUID | None
    details: Mapping[str, Any]
    occurred_at: datetime
    postings: tuple[PostingView, ...] = ()
    replayed: bool = False

    def net(self, kinds: Sequence[AccountKind]) -> dict[str, int]:
        """Per currency, what the postings on accounts of these kinds add up to."""
        totals: dict[str, int] = defaultdict(int)
        for posting in self.postings:
            if posting.account_kind in kinds:
                totals[posting.currency] += posting.amount_minor
        return dict(totals)


@dataclass(frozen=True)
class HoldView:
    id: uuid.UUID
    user_id: uuid.UUID
    currency: str
    amount_minor: int
    status: HoldStatus
    purpose: str
    reserve_transaction_id: uuid.UUID
    settle_transaction_id: uuid.UUID | None
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, hold: LedgerHold) -> HoldView:
        return cls(
            id=hold.id,
            user_id=hold.user_id,
            currency=hold.currency,
            amount_minor=hold.amount_minor,
            status=hold.status,
            purpose=hold.purpose,
            reserve_transaction_id=hold.reserve_transaction_id,
            settle_transaction_id=hold.settle_transaction_id,
            created_at=hold.created_at,
            settled_at=hold.settled_at,
        )


@dataclass(frozen=True)
class CurrencyBalance:
    """One currency of a user's wallet. `balance` is everything that is the user's
    (available + pending + reserved, less what they owe)."""

    currency: str
    available_minor: int = 0
    pending_minor: int = 0
    reserved_minor: int = 0
    owed_minor: int = 0
    fees_minor: int = 0

    @property
    def balance_minor(self) -> int:
        return self.available_minor + self.pending_minor + self.reserved_minor - self.owed_minor


@dataclass(frozen=True)
class TransactionSlice:
    transactions: Sequence[TransactionView]
    next_cursor: uuid.UUID | None


@dataclass
class VerifyReport:
    accounts: int = 0
    balance_mismatches: list[tuple[uuid.UUID, int, int]] = field(default_factory=list)
    unbalanced: list[tuple[uuid.UUID, str, int]] = field(default_factory=list)
    thin: list[uuid.UUID] = field(default_factory=list)
    overdrawn: list[uuid.UUID] = field(default_factory=list)
    holds: list[tuple[uuid.UUID, str, int, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.balance_mismatches or self.unbalanced or self.thin or self.overdrawn or self.holds
        )

    def problems(self) -> list[str]:
        lines = [
            f"account {id}: kept balance {kept} but its postings sum to {summed}"
            for id, kept, summed in self.balance_mismatches
        ]
        lines += [
            f"transaction {id}: {currency} postings sum to {total}, not 0"
            for id, currency, total in self.unbalanced
        ]
        lines += [f"transaction {id}: fewer than two postings" for id in self.thin]
        lines += [f"account {id}: below zero, which its kind forbids" for id in self.overdrawn]
        lines += [
            f"user {user} {currency}: reserved {reserved} but pending holds total {held}"
            for user, currency, reserved, held in self.holds
        ]
        return lines


def _fingerprint(
    kind: TransactionKind,
    legs: Sequence[Leg],
    reference: tuple[str, str] | None,
    hold_id: uuid.UUID | None,
) -> str:
    content = {
        "kind": kind.value,
        "legs": sorted(
            (leg.kind.value, leg.currency, leg.provider, leg.amount_minor) for leg in legs
        ),
        "reference": list(reference) if reference else None,
        "hold": str(hold_id) if hold_id else None,
    }
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _check(legs: Sequence[Leg], key: str) -> None:
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise UnbalancedTransaction(f"An idempotency key is 1 to {MAX_KEY_LENGTH} characters")
    if len(legs) < 2:
        raise UnbalancedTransaction("A transaction needs at least two postings")
    sums: dict[str, int] = defaultdict(int)
    for leg in legs:
        if leg.amount_minor == 0:
            raise UnbalancedTransaction("A posting of zero moves nothing; leave it out")
        if len(leg.currency) != 3 or not (leg.currency.isalpha() and leg.currency.isupper()):
            raise UnbalancedTransaction(f"{leg.currency!r} is not an ISO 4217 currency code")
        if (leg.kind is AccountKind.external) != bool(leg.provider):
            raise UnbalancedTransaction(
                "Only outside-world accounts name a provider, and they must"
            )
        sums[leg.currency] += leg.amount_minor
    unbalanced = {currency: total for currency, total in sums.items() if total}
    if unbalanced:
        raise UnbalancedTransaction(
            "Postings must sum to zero per currency; off by "
            + ", ".join(f"{total} {currency}" for currency, total in sorted(unbalanced.items()))
        )


MAX_UUID7_MS = (1 << 48) - 2


def _milliseconds(moment: datetime) -> int:
    """A time as a UUIDv7's milliseconds, within what one holds (naive times are UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    try:
        milliseconds = int(aware.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        milliseconds = 0 if aware.year < 1970 else MAX_UUID7_MS
    return min(max(milliseconds, 0), MAX_UUID7_MS)


class LedgerService:
    async def post(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        legs: Sequence[Leg],
        *,
        kind: TransactionKind,
        key: str,
        description: str = "",
        reference: tuple[str, str] | None = None,
        hold_id: uuid.UUID | None = None,
        details: Mapping[str, Any] | None = None,
        occurred_at: datetime | None = None,
    ) -> TransactionView:
        _check(legs, key)
        fingerprint = _fingerprint(kind, legs, reference, hold_id)
        repository = LedgerRepository(session)
        transaction_id = uuid7()
        accounts = await repository.accounts(user_id, {leg.key for leg in legs})
        deltas: dict[uuid.UUID, int] = defaultdict(int)
        for leg in legs:
            deltas[accounts[leg.key]] += leg.amount_minor
        now = utcnow()
        written, refused = await repository.post(
            {
                "id": transaction_id,
                "user_id": user_id,
                "kind": kind.value,
                "idempotency_key": key,
                "fingerprint": fingerprint,
                "description": description[:300],
                "reference_type": reference[0] if reference else None,
                "reference_id": reference[1] if reference else None,
                "hold_id": hold_id,
                "details": dict(details or {}),
                "occurred_at": occurred_at or now,
                "created_at": now,
            },
            [
                {
                    "transaction_id": transaction_id,
                    "account_id": accounts[leg.key],
                    "amount_minor": leg.amount_minor,
                    "currency": leg.currency,
                }
                for leg in legs
            ],
            deltas,
        )
        if refused is not None:
            short = next(found for found, id in accounts.items() if id == refused)
            raise InsufficientFunds(
                f"Not enough {short[1]} in the {short[0].value} balance for this",
                account=short[0].value,
                currency=short[1],
            )
        if not written:
            existing = await repository.by_key(user_id, key)
            assert existing is not None  # the conflict that stopped the insert
            if existing.fingerprint != fingerprint:
                raise IdempotencyConflict(
                    f"The idempotency key {key!r} was used for a different transaction",
                    transaction_id=str(existing.id),
                )
            return await self._view(repository, existing, replayed=True)
        return TransactionView(
            id=transaction_id,
            user_id=user_id,
            kind=kind,
            idempotency_key=key,
            description=description[:300],
            reference_type=reference[0] if reference else None,
            reference_id=reference[1] if reference else None,
            hold_id=hold_id,
            details=dict(details or {}),
            occurred_at=occurred_at or now,
            postings=tuple(
                PostingView(
                    account_id=accounts[leg.key],
                    account_kind=leg.kind,
                    provider=leg.provider,
                    amount_minor=leg.amount_minor,
                    currency=leg.currency,
                )
                for leg in legs
            ),
        )

    # Holds

    async def hold(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        amount_minor: int,
        currency: str,
        key: str,
        purpose: str,
        reference: tuple[str, str] | None = None,
    ) -> HoldView:
        """Reserve money for a payout: available to reserved, refused beyond what is there."""
        if amount_minor <= 0:
            raise UnbalancedTransaction("A hold is for a positive amount")
        hold_id = uuid7()
        repository = LedgerRepository(session)
        existing = await repository.hold_by_key(user_id, key)
        if existing is not None:
            if (existing.amount_minor, existing.currency) != (amount_minor, currency):
                raise IdempotencyConflict(f"The hold key {key!r} was used for a different hold")
            return HoldView.of(existing)
        transaction = await self.post(
            session,
            user_id,
            [
                Leg(AccountKind.available, -amount_minor, currency),
                Leg(AccountKind.reserved, amount_minor, currency),
            ],
            kind=TransactionKind.hold,
            key=f"hold:{key}",
            description=purpose,
            reference=reference,
        )
        if transaction.replayed:
            found = await repository.hold_by_key(user_id, key)
            if found is not None:
                return HoldView.of(found)
        await repository.insert_hold(
            {
                "id": hold_id,
                "user_id": user_id,
                "currency": currency,
                "amount_minor": amount_minor,
                "status": HoldStatus.pending,
                "idempotency_key": key,
                "purpose": purpose[:200],
                "reserve_transaction_id": transaction.id,
                "created_at": utcnow(),
            }
        )
        hold = await repository.hold_by_key(user_id, key)
        assert hold is not None
        return HoldView.of(hold)

    async def post_hold(
        self, session: AsyncSession, hold_id: uuid.UUID, *, provider: str, description: str = ""
    ) -> TransactionView:
        """The payout left: reserved money goes to the outside world (`provider`)."""
        return await self._settle(
            session,
            hold_id,
            HoldStatus.posted,
            lambda hold: [
                Leg(AccountKind.reserved, -hold.amount_minor, hold.currency),
                Leg(AccountKind.external, hold.amount_minor, hold.currency, provider),
            ],
            TransactionKind.payout,
            description,
        )

    async def void_hold(
        self, session: AsyncSession, hold_id: uuid.UUID, *, description: str = ""
    ) -> TransactionView:
        """The payout did not happen: reserved money is available again."""
        return await self._settle(
            session,
            hold_id,
            HoldStatus.voided,
            lambda hold: [
                Leg(AccountKind.reserved, -hold.amount_minor, hold.currency),
                Leg(AccountKind.available, hold.amount_minor, hold.currency),
            ],
            TransactionKind.release_hold,
            description,
        )

    async def _settle(
        self,
        session: AsyncSession,
        hold_id: uuid.UUID,
        status: HoldStatus,
        legs: Any,
        kind: TransactionKind,
        description: str,
    ) -> TransactionView:
        repository = LedgerRepository(session)
        hold = await repository.hold(hold_id)
        if hold is None:
            raise HoldNotFound()
        key = f"hold:{hold_id}:{status.value}"
        if not await repository.settle_hold(hold_id, status, utcnow()):
            settled = await repository.hold(hold_id)
            assert settled is not None
            if settled.status is not status:
                raise HoldSettled(f"The hold was already {settled.status.value}")
            existing = await repository.by_key(hold.user_id, key)
            assert existing is not None
            return await self._view(repository, existing, replayed=True)
        transaction = await self.post(
            session,
            hold.user_id,
            legs(hold),
            kind=kind,
            key=key,
            description=description or hold.purpose,
            hold_id=hold_id,
        )
        await repository.set_settle_transaction(hold_id, transaction.id)
        return transaction

    async def get_hold(self, session: AsyncSession, hold_id: uuid.UUID) -> HoldView:
        hold = await LedgerRepository(session).hold(hold_id)
        if hold is None:
            raise HoldNotFound()
        return HoldView.of(hold)

    # Reading

    async def balances(self, session: AsyncSession, user_id: uuid.UUID) -> list[CurrencyBalance]:
        """The user's wallet per currency: one row per account, no sums over postings."""
        by_currency: dict[str, dict[AccountKind, int]] = defaultdict(lambda: defaultdict(int))
        for account in await LedgerRepository(session).user_accounts(user_id):
            by_currency[account.currency][account.kind] += account.balance_minor
        return [
            CurrencyBalance(
                currency=currency,
                available_minor=kinds[AccountKind.available],
                pending_minor=kinds[AccountKind.pending],
                reserved_minor=kinds[AccountKind.reserved],
                owed_minor=-kinds[AccountKind.owed],
                fees_minor=kinds[AccountKind.fees],
            )
            for currency, kinds in sorted(by_currency.items())
        ]

    async def balance(
        self, session: AsyncSession, user_id: uuid.UUID, currency: str
    ) -> CurrencyBalance:
        for entry in await self.balances(session, user_id):
            if entry.currency == currency:
                return entry
        return CurrencyBalance(currency=currency)

    async def accounts(self, session: AsyncSession, user_id: uuid.UUID) -> Sequence[LedgerAccount]:
        return await LedgerRepository(session).user_accounts(user_id)

    async def lifetime_earnings(self, session: AsyncSession, user_id: uuid.UUID) -> dict[str, int]:
        """Per currency: what clients paid the user, after fees, refunds and lost disputes."""
        return await LedgerRepository(session).net_to_user(user_id, EARNING_KINDS)

    async def transactions(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        kinds: Sequence[TransactionKind] = (),
        currency: str | None = None,
        reference_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: uuid.UUID | None = None,
        limit: int = 20,
    ) -> TransactionSlice:
        """Newest first; pass `next_cursor` back as `cursor` to read older ones."""
        repository = LedgerRepository(session)
        before = cursor
        if until is not None:
            ceiling = uuid7_floor(_milliseconds(until) + 1)
            before = min(before, ceiling) if before is not None else ceiling
        after = uuid7_floor(_milliseconds(since)) if since else None
        rows = await repository.list_transactions(
            user_id,
            kinds=kinds,
            currency=currency,
            reference_id=reference_id,
            before=before,
            after=after,
            limit=limit + 1,
        )
        page = rows[:limit]
        views = await self._views(repository, page)
        return TransactionSlice(
            transactions=views, next_cursor=page[-1].id if len(rows) > limit else None
        )

    async def transaction(
        self, session: AsyncSession, user_id: uuid.UUID, transaction_id: uuid.UUID
    ) -> TransactionView:
        repository = LedgerRepository(session)
        row = await repository.transaction(transaction_id, user_id=user_id)
        if row is None:
            raise TransactionNotFound()
        return await self._view(repository, row)

    async def by_reference(
        self, session: AsyncSession, user_id: uuid.UUID, reference_id: str
    ) -> Sequence[TransactionView]:
        repository = LedgerRepository(session)
        rows = await repository.list_transactions(user_id, reference_id=reference_id, limit=500)
        return await self._views(repository, rows)

    async def verify(self, session: AsyncSession) -> VerifyReport:
        """Prove every kept balance equals its postings, every transaction balances, no
        non-negative account is below zero, and reserved money equals the pending holds."""
        repository = LedgerRepository(session)
        report = VerifyReport()
        report.balance_mismatches = list(await repository.balance_mismatches())
        report.unbalanced = list(await repository.unbalanced_transactions())
        report.thin = list(await repository.thin_transactions())
        report.overdrawn = list(await repository.overdrawn())
        report.holds = list(await repository.hold_mismatches())
        report.accounts = await repository.account_count()
        return report

    async def _view(
        self, repository: LedgerRepository, row: LedgerTransaction, *, replayed: bool = False
    ) -> TransactionView:
        views = await self._views(repository, [row], replayed=replayed)
        return views[0]

    async def _views(
        self,
        repository: LedgerRepository,
        rows: Sequence[LedgerTransaction],
        *,
        replayed: bool = False,
    ) -> list[TransactionView]:
        postings: dict[uuid.UUID, list[PostingView]] = defaultdict(list)
        for posting, account in await repository.postings([row.id for row in rows]):
            postings[posting.transaction_id].append(
                PostingView(
                    account_id=account.id,
                    account_kind=account.kind,
                    provider=account.provider,
                    amount_minor=posting.amount_minor,
                    currency=posting.currency,
                )
            )
        return [
            TransactionView(
                id=row.id,
                user_id=row.user_id,
                kind=row.kind,
                idempotency_key=row.idempotency_key,
                description=row.description,
                reference_type=row.reference_type,
                reference_id=row.reference_id,
                hold_id=row.hold_id,
                details=row.details,
                occurred_at=row.occurred_at,
                postings=tuple(postings[row.id]),
                replayed=replayed,
            )
            for row in rows
        ]


ledger = LedgerService()
