"""Money out: payouts from the user's available balance to their bank.

A request reserves the amount at once (a ledger hold: available to reserved), so two requests
can never spend the same money. It then waits for the user's approval with a second factor
(the password again), unless the user's capped rule approves it. Sending follows the pattern
for every side effect: claim the payout (`sending`, a lease) in a short transaction; call the
provider with no transaction open, with the payout's id as the idempotency key and in its
metadata; record the outcome in a second transaction, fenced on the claim. A run that finds
the payout already claimed once (a crash after the call) first asks the provider for a payout
with that reference, and records it instead of creating another. The provider's
`payout.paid` posts the hold (reserved to the outside world); `payout.failed`, or a refusal,
voids it (back to available).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.service import auth as auth_service
from gigforge.audit.service import audit as audit_service
from gigforge.integrations.framework import NotSupported, Permanent
from gigforge.integrations.framework.payments import (
    PaymentEvent,
    PaymentEventKind,
    PayoutRequest,
    PayoutSpeed,
    ProviderPayout,
)
from gigforge.integrations.framework.payments import PayoutStatus as ProviderStatus
from gigforge.kit.actor import SYSTEM
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.kit.pagination import PageParams
from gigforge.kit.tasks import enqueue
from gigforge.ledger.service import ledger
from gigforge.payments.accounts import bank_account
from gigforge.payments.errors import (
    InvalidPayoutState,
    PayoutAccountMissing,
    PayoutMethodUnsupported,
    PayoutNotFound,
)
from gigforge.payments.events import PayoutRequested, PayoutStatusChanged
from gigforge.payments.models import (
    BankAccountStatus,
    EventStatus,
    Payout,
    PayoutMethod,
    PayoutStatus,
)
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.repository import (
    PayoutAccountRepository,
    PayoutRepository,
    SettingsRepository,
)
from gigforge.settings import Settings

SEND_TASK = "payments.send_payout"
SPEEDS = {
    PayoutMethod.bank_transfer: PayoutSpeed.standard,
    PayoutMethod.instant: PayoutSpeed.instant,
}


class PayoutBusy(Exception):
    """Another run holds the payout's lease; the task tries again after its backoff."""


async def _changed(session: AsyncSession, payout: Payout, failure: str | None = None) -> None:
    await publish(
        session,
        PayoutStatusChanged(payout_id=payout.id, status=payout.status.value, failure=failure),
        user_id=payout.user_id,
    )


async def request(
    session: AsyncSession,
    platform: PaymentsPlatform,
    principal: Principal,
    *,
    amount_minor: int,
    currency: str,
    method: PayoutMethod,
    bank_account_ref: str | None,
) -> Payout:
    """Reserve the money and wait for approval (or approve it by the user's capped rule)."""
    speed = SPEEDS.get(method)
    offered = platform.payout_speeds
    if speed is None or speed not in offered:
        raise PayoutMethodUnsupported(
            f"No connected payment provider pays out by {method.value.replace('_', ' ')}; "
            f"{platform.provider} offers "
            + (", ".join(sorted(s.value for s in offered)) or "no payouts")
            + " (bank_transfer is standard, instant is instant)"
        )
    if amount_minor <= 0:
        raise InvalidPayoutState("A payout is for more than zero")
    account = await PayoutAccountRepository(session).of(principal.user_id)
    if account is None or not account.payouts_enabled:
        raise PayoutAccountMissing(
            "Finish connecting your payout account (Payments > Payout account) before withdrawing"
        )
    bank_id: uuid.UUID | None = None
    if bank_account_ref:
        bank = await bank_account(session, principal.user_id, bank_account_ref)
        if bank.status is not BankAccountStatus.active:
            raise InvalidPayoutState(f"The bank account ending {bank.last4} is {bank.status.value}")
        if bank.currency != currency:
            raise InvalidPayoutState(
                f"The bank account ending {bank.last4} takes {bank.currency}, not {currency}"
            )
        bank_id = bank.id
    payout_id = uuid.uuid4()
    hold = await ledger.hold(
        session,
        principal.user_id,
        amount_minor=amount_minor,
        currency=currency,
        key=f"payout:{payout_id}",
        purpose=f"Payout by {method.value.replace('_', ' ')}",
        reference=("payout", str(payout_id)),
    )
    auto = await _rule_allows(session, principal.user_id, amount_minor, currency)
    payout = Payout(
        id=payout_id,
        user_id=principal.user_id,
        amount_minor=amount_minor,
        currency=currency,
        method=method,
        bank_account_id=bank_id,
        status=PayoutStatus.approved if auto else PayoutStatus.awaiting_approval,
        hold_id=hold.id,
        auto_approved=auto,
        approved_at=utcnow() if auto else None,
        provider=platform.provider,
    )
    session.add(payout)
    await session.flush()
    await publish(
        session,
        PayoutRequested(
            payout_id=payout.id,
            amount_minor=amount_minor,
            currency=currency,
            method=method.value,
            needs_approval=not auto,
        ),
        user_id=principal.user_id,
    )
    await audit_service.record(
        session,
        principal.actor,
        action="payout.requested",
        target_type="payout",
        target_id=payout.id,
        user_id=principal.user_id,
        data={"amount_minor": amount_minor, "currency": currency, "auto_approved": auto},
    )
    if auto:
        await enqueue(session, SEND_TASK, payout_id=str(payout.id))
    return payout


async def _rule_allows(
    session: AsyncSession, user_id: uuid.UUID, amount_minor: int, currency: str
) -> bool:
    settings = await SettingsRepository(session).of(user_id)
    if settings is None or settings.auto_payout_max_minor <= 0:
        return False
    if amount_minor > settings.auto_payout_max_minor:
        return False
    today = await PayoutRepository(session).auto_approved_since(
        user_id, currency, utcnow() - timedelta(days=1)
    )
    return today + amount_minor <= settings.auto_payout_daily_max_minor


async def approve(
    session: AsyncSession,
    principal: Principal,
    payout_id: uuid.UUID,
    *,
    settings: Settings,
    password: str,
) -> Payout:
    """The user approves with their password again; the payout is queued to be sent."""
    payout = await _owned_locked(session, principal, payout_id)
    if payout.status is not PayoutStatus.awaiting_approval:
        raise InvalidPayoutState(f"The payout is {payout.status.value}, not awaiting approval")
    await auth_service.confirm_password(
        session,
        principal.actor,
        settings=settings,
        user=principal.user,
        password=password,
        purpose="payout approval",
    )
    payout.status = PayoutStatus.approved
    payout.approved_at = utcnow()
    await enqueue(session, SEND_TASK, payout_id=str(payout.id))
    await _changed(session, payout)
    await audit_service.record(
        session,
        principal.actor,
        action="payout.approved",
        target_type="payout",
        target_id=payout.id,
        user_id=principal.user_id,
    )
    await session.flush()
    return payout


async def decline(session: AsyncSession, principal: Principal, payout_id: uuid.UUID) -> Payout:
    payout = await _owned_locked(session, principal, payout_id)
    if payout.status is not PayoutStatus.awaiting_approval:
        raise InvalidPayoutState(f"The payout is {payout.status.value}, not awaiting approval")
    payout.status = PayoutStatus.declined
    await ledger.void_hold(session, payout.hold_id, description="Payout declined")
    await _changed(session, payout)
    await audit_service.record(
        session,
        principal.actor,
        action="payout.declined",
        target_type="payout",
        target_id=payout.id,
        user_id=principal.user_id,
    )
    await session.flush()
    return payout


async def get(session: AsyncSession, principal: Principal, payout_id: uuid.UUID) -> Payout:
    payout = await PayoutRepository(session).get_owned(principal.user_id, payout_id)
    if payout is None:
        raise PayoutNotFound()
    return payout


async def listed(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[Payout], int]:
    repository = PayoutRepository(session)
    rows, total = await repository.paginate(repository.listed(principal.user_id), page)
    return list(rows), total


async def _owned_locked(
    session: AsyncSession, principal: Principal, payout_id: uuid.UUID
) -> Payout:
    payout = await PayoutRepository(session).locked(payout_id)
    if payout is None or payout.user_id != principal.user_id:
        raise PayoutNotFound()
    return payout


# Sending


async def send(platform: PaymentsPlatform, payout_id: uuid.UUID, *, lease: timedelta) -> None:
    """Send one approved payout to the provider, exactly once."""
    database = platform.context.database
    now = utcnow()
    lease_until = now + lease
    async with unit_of_work(database) as session:
        taken = await session.execute(
            update(Payout)
            .where(
                Payout.id == payout_id,
                or_(
                    Payout.status == PayoutStatus.approved,
                    and_(Payout.status == PayoutStatus.sending, Payout.lease_until < now),
                ),
            )
            .values(
                status=PayoutStatus.sending, lease_until=lease_until, attempts=Payout.attempts + 1
            )
            .execution_options(synchronize_session=False)
        )
        payout = await session.get(Payout, payout_id, populate_existing=True)
        if getattr(taken, "rowcount", 0) != 1:
            if payout is not None and payout.status is PayoutStatus.sending:
                raise PayoutBusy(f"payout {payout_id} is being sent by another run")
            return
        assert payout is not None
        account = await PayoutAccountRepository(session).of(payout.user_id)
        destination = None
        if payout.bank_account_id is not None:
            bank = await bank_account(session, payout.user_id, str(payout.bank_account_id))
            destination = bank.provider_bank_id
        first_attempt = payout.attempts == 1
        request_ = PayoutRequest(
            account_id=account.account_id if account else "",
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            speed=SPEEDS[payout.method],
            destination=destination,
            reference=str(payout.id),
        )
        if account is None:
            await _fail(session, payout, "The payout account is gone")
            return
        await _changed(session, payout)
    connector = platform.payouts()
    try:
        async with connector.client:
            made: ProviderPayout | None = None
            if not first_attempt:
                # An earlier run may have reached the provider and died before recording.
                made = await connector.find_payout(request_.account_id, request_.reference)
            if made is None:
                made = await connector.create_payout(request_)
    except (Permanent, NotSupported) as exc:
        async with unit_of_work(database) as session:
            refused = await session.get(Payout, payout_id, populate_existing=True)
            if refused is not None and refused.status is PayoutStatus.sending:
                await _fail(session, refused, exc.detail)
        return
    async with unit_of_work(database) as session:
        await _record(session, payout_id, made, lease_until)


async def _record(
    session: AsyncSession, payout_id: uuid.UUID, made: ProviderPayout, lease_until: object
) -> None:
    payout = await PayoutRepository(session).locked(payout_id)
    if payout is None:
        return
    if payout.provider_payout_id is None:
        payout.provider_payout_id = made.id
    if payout.status is not PayoutStatus.sending:
        return  # the provider's event got here first
    payout.lease_until = None
    if made.arrival_date is not None:
        from datetime import UTC, datetime

        payout.arrival_date = datetime(
            made.arrival_date.year, made.arrival_date.month, made.arrival_date.day, tzinfo=UTC
        )
    if made.status is ProviderStatus.paid:
        await _paid(session, payout)
    elif made.status in (ProviderStatus.failed, ProviderStatus.canceled):
        await _fail(session, payout, made.failure_message or f"the provider says {made.status}")
    else:
        payout.status = PayoutStatus.in_transit
        await _changed(session, payout)
    await session.flush()


async def _paid(session: AsyncSession, payout: Payout) -> None:
    await ledger.post_hold(
        session, payout.hold_id, provider=payout.provider or "payout", description="Payout sent"
    )
    payout.status = PayoutStatus.paid
    payout.paid_at = utcnow()
    payout.lease_until = None
    await _changed(session, payout)


async def _fail(session: AsyncSession, payout: Payout, reason: str) -> None:
    await ledger.void_hold(session, payout.hold_id, description=f"Payout failed: {reason}"[:300])
    payout.status = PayoutStatus.failed
    payout.failure = reason[:500]
    payout.lease_until = None
    await _changed(session, payout, reason[:500])
    await audit_service.record(
        session,
        SYSTEM,
        action="payout.failed",
        target_type="payout",
        target_id=payout.id,
        user_id=payout.user_id,
        data={"reason": reason[:300]},
    )


async def apply_payout_event(
    session: AsyncSession, provider: str, event: PaymentEvent
) -> tuple[EventStatus, str | None]:
    """`payout.paid` posts the hold, `payout.failed` voids it; each once, in any order
    against our own record of the call."""
    repository = PayoutRepository(session)
    payout = await repository.by_provider_id(event.object_id)
    if payout is None and event.reference:
        try:
            payout = await repository.get(uuid.UUID(event.reference))
        except ValueError:
            payout = None
    if payout is None:
        return EventStatus.ignored, "not a Gigforge payout"
    locked = await repository.locked(payout.id)
    assert locked is not None
    if locked.provider_payout_id is None:
        locked.provider_payout_id = event.object_id
    if locked.status in (PayoutStatus.paid, PayoutStatus.failed, PayoutStatus.declined):
        return EventStatus.applied, f"the payout was already {locked.status.value}"
    if event.kind is PaymentEventKind.payout_paid:
        await _paid(session, locked)
    else:
        await _fail(session, locked, event.failure_message or "the bank refused the payout")
    await session.flush()
    return EventStatus.applied, None


async def check_in_transit(platform: PaymentsPlatform) -> int:
    """Ask the provider about payouts still in transit (a lost webhook); returns how many
    changed."""
    database = platform.context.database
    async with unit_of_work(database) as session:
        waiting = [
            (payout.id, payout.user_id, payout.provider_payout_id)
            for payout in await PayoutRepository(session).in_transit()
        ]
        accounts = {}
        for _, user_id, _ in waiting:
            account = await PayoutAccountRepository(session).of(user_id)
            if account is not None:
                accounts[user_id] = account.account_id
    if not waiting:
        return 0
    changed = 0
    connector = platform.payouts()
    async with connector.client:
        for payout_id, user_id, _ in waiting:
            if user_id not in accounts:
                continue
            found = await connector.find_payout(accounts[user_id], str(payout_id))
            if found is None or found.status not in (
                ProviderStatus.paid,
                ProviderStatus.failed,
                ProviderStatus.canceled,
            ):
                continue
            async with unit_of_work(database) as session:
                payout = await PayoutRepository(session).locked(payout_id)
                if payout is None or payout.status is not PayoutStatus.in_transit:
                    continue
                if found.status is ProviderStatus.paid:
                    await _paid(session, payout)
                else:
                    await _fail(session, payout, found.failure_message or "the payout failed")
                changed += 1
    return changed


async def due(session: AsyncSession) -> list[uuid.UUID]:
    return [payout.id for payout in await PayoutRepository(session).due(utcnow())]
