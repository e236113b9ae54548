"""The user's side at the payment provider: a connected account with the provider's own
onboarding (Stripe Connect Express), kept current by `account.updated`, and bank accounts
checked with schwifty (IBAN checksum and country format, BIC) before the provider sees them.

Creating the account and the onboarding link are calls to the provider made with no
transaction open: the account's id is saved in a short transaction after the call, and the
call carries an idempotency key made from the user's id, so a retry after a crash finds the
same account instead of making a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.connections.vault import vault
from gigforge.integrations.framework import NotSupported, Permanent
from gigforge.integrations.framework.payments import (
    BankAccountRequest,
    ConnectedAccount,
    PaymentEvent,
)
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish
from gigforge.kit.tasks import enqueue
from gigforge.payments.errors import (
    BankAccountNotFound,
    InvalidBankAccount,
    PayoutAccountMissing,
)
from gigforge.payments.events import PayoutAccountUpdated
from gigforge.payments.models import (
    BankAccount,
    BankAccountStatus,
    EventStatus,
    PayoutAccount,
)
from gigforge.payments.platform import PaymentsPlatform
from gigforge.payments.repository import (
    BankAccountRepository,
    PaymentRepository,
    PayoutAccountRepository,
)

REGISTER_BANK_TASK = "payments.register_bank_account"
TRANSFER_TASK = "payments.transfer"


@dataclass(frozen=True)
class Onboarding:
    account: PayoutAccount
    url: str


def _apply_state(row: PayoutAccount, state: ConnectedAccount) -> None:
    row.details_submitted = state.details_submitted
    row.charges_enabled = state.charges_enabled
    row.payouts_enabled = state.payouts_enabled
    row.capabilities = dict(state.capabilities)
    row.requirements_due = list(state.requirements_due)
    row.disabled_reason = state.disabled_reason


async def connect(
    platform: PaymentsPlatform,
    principal: Principal,
    *,
    email: str,
    country: str,
    refresh_url: str,
    return_url: str,
) -> Onboarding:
    """Create (or find) the user's connected account and a fresh onboarding link."""
    database = platform.context.database
    async with unit_of_work(database) as session:
        existing = await PayoutAccountRepository(session).of(principal.user_id)
        account_id = existing.account_id if existing is not None else None
    connector = platform.payouts()
    async with connector.client:
        if account_id is None:
            created = await connector.create_account(
                email=email, country=country.upper(), reference=str(principal.user_id)
            )
            account_id = created.id
            state = created
        else:
            state = await connector.get_account(account_id)
        url = await connector.onboarding_link(
            account_id, refresh_url=refresh_url, return_url=return_url
        )
    async with unit_of_work(database) as session:
        repository = PayoutAccountRepository(session)
        row = await repository.of(principal.user_id)
        if row is None:
            row = PayoutAccount(
                user_id=principal.user_id, provider=platform.provider, account_id=account_id
            )
            repository.add(row)
            await audit_service.record(
                session,
                principal.actor,
                action="payments.account_connected",
                target_type="payout_account",
                user_id=principal.user_id,
                data={"provider": platform.provider, "account": account_id},
            )
        _apply_state(row, state)
        await session.flush()
    return Onboarding(account=row, url=url)


async def refresh_account(platform: PaymentsPlatform, user_id: uuid.UUID) -> PayoutAccount | None:
    """Read the account's state from the provider (the return from onboarding)."""
    async with unit_of_work(platform.context.database) as session:
        row = await PayoutAccountRepository(session).of(user_id)
        account_id = row.account_id if row is not None else None
    if account_id is None:
        return None
    connector = platform.payouts()
    async with connector.client:
        state = await connector.get_account(account_id)
    async with unit_of_work(platform.context.database) as session:
        row = await PayoutAccountRepository(session).of(user_id)
        if row is None:
            return None
        await _updated(session, row, state, platform.provider)
        return row


async def _updated(
    session: AsyncSession, row: PayoutAccount, state: ConnectedAccount, provider: str
) -> None:
    could_pay = row.payouts_enabled
    _apply_state(row, state)
    await publish(
        session,
        PayoutAccountUpdated(
            provider=provider,
            details_submitted=row.details_submitted,
            payouts_enabled=row.payouts_enabled,
        ),
        user_id=row.user_id,
    )
    if row.payouts_enabled and not could_pay:
        # Money that waited for the account can move now.
        for payment in await PaymentRepository(session).due_for_user(row.user_id):
            await enqueue(session, TRANSFER_TASK, payment_id=str(payment.id))
    await session.flush()


async def apply_account_event(
    session: AsyncSession, provider: str, event: PaymentEvent
) -> tuple[EventStatus, str | None]:
    """`account.updated`: the newest state wins; an older event arriving late is ignored."""
    state = event.account_state
    if state is None:
        return EventStatus.ignored, "no account state in the event"
    row = await PayoutAccountRepository(session).by_account(state.id)
    if row is None:
        return EventStatus.ignored, "not a Gigforge user's account"
    last = row.updated_at
    if last is not None and event.created < last.replace(microsecond=0) and row.details_submitted:
        return EventStatus.ignored, "older than the state already recorded"
    await _updated(session, row, state, provider)
    return EventStatus.applied, None


async def account_of(session: AsyncSession, user_id: uuid.UUID) -> PayoutAccount | None:
    return await PayoutAccountRepository(session).of(user_id)


# Bank accounts


def validate_bank(iban: str, bic: str | None) -> tuple[IBAN, BIC | None]:
    try:
        parsed = IBAN(iban)
    except SchwiftyException as exc:
        raise InvalidBankAccount(f"The IBAN is not valid: {exc}") from None
    checked_bic: BIC | None = None
    if bic:
        try:
            checked_bic = BIC(bic)
        except SchwiftyException as exc:
            raise InvalidBankAccount(f"The BIC is not valid: {exc}") from None
        if checked_bic.country_code != parsed.country_code:
            raise InvalidBankAccount(
                f"The BIC is of a bank in {checked_bic.country_code}, the IBAN of one in "
                f"{parsed.country_code}"
            )
    return parsed, checked_bic


async def add_bank_account(
    session: AsyncSession,
    platform: PaymentsPlatform,
    principal: Principal,
    *,
    holder_name: str,
    iban: str,
    bic: str | None,
    currency: str,
) -> BankAccount:
    """Check and keep a bank account; the provider gets it from a task, after the commit.
    The IBAN is sealed in the vault until then, and only its masked form is kept after."""
    if not holder_name.strip():
        raise InvalidBankAccount("Give the account holder's name")
    parsed, checked_bic = validate_bank(iban, bic)
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise InvalidBankAccount(f"{currency!r} is not a three-letter currency code")
    if await PayoutAccountRepository(session).of(principal.user_id) is None:
        raise PayoutAccountMissing(
            "Connect your payout account first: the bank account is registered on it"
        )
    secret_id = await vault.put(
        session,
        platform.context.keyring,
        user_id=principal.user_id,
        purpose="bank account number",
        plaintext=parsed.compact,
    )
    row = BankAccount(
        id=uuid.uuid4(),
        user_id=principal.user_id,
        holder_name=holder_name.strip()[:200],
        country=parsed.country_code,
        currency=code,
        bank_name=parsed.bank_name,
        bic=str(checked_bic) if checked_bic else (str(parsed.bic) if parsed.bic else None),
        iban_masked=f"{parsed.country_code}** **** {parsed.compact[-4:]}",
        last4=parsed.compact[-4:],
        secret_id=secret_id,
        status=BankAccountStatus.registering,
    )
    session.add(row)
    await session.flush()
    await enqueue(session, REGISTER_BANK_TASK, bank_account_id=str(row.id))
    await audit_service.record(
        session,
        principal.actor,
        action="payments.bank_account_added",
        target_type="bank_account",
        target_id=row.id,
        user_id=principal.user_id,
        data={"last4": row.last4, "country": row.country},
    )
    return row


async def register_bank_account(platform: PaymentsPlatform, bank_account_id: uuid.UUID) -> None:
    """Give the provider the bank account (idempotent by our id), then forget the number."""
    database = platform.context.database
    async with unit_of_work(database) as session:
        row = await BankAccountRepository(session).get(bank_account_id)
        if row is None or row.status is not BankAccountStatus.registering:
            return
        account = await PayoutAccountRepository(session).of(row.user_id)
        if account is None or row.secret_id is None:
            row.status = BankAccountStatus.failed
            row.error = "No payout account to register it on"
            return
        iban = (
            await vault.get(session, platform.context.keyring, row.secret_id, user_id=row.user_id)
        ).reveal_text()
        request = BankAccountRequest(
            holder_name=row.holder_name,
            country=row.country,
            currency=row.currency,
            iban=iban,
            bic=row.bic,
            reference=str(row.id),
        )
        account_id = account.account_id
    connector = platform.payouts()
    try:
        async with connector.client:
            registered = await connector.add_bank_account(account_id, request)
    except (Permanent, NotSupported) as exc:
        async with unit_of_work(database) as session:
            failed = await BankAccountRepository(session).get(bank_account_id)
            if failed is not None:
                failed.status = BankAccountStatus.failed
                failed.error = exc.detail[:500]
        return
    async with unit_of_work(database) as session:
        done = await BankAccountRepository(session).get(bank_account_id)
        if done is None:
            return
        done.status = BankAccountStatus.active
        done.provider = platform.provider
        done.provider_bank_id = registered.id
        done.bank_name = registered.bank_name or done.bank_name
        done.updated_at = utcnow()
        if done.secret_id is not None:
            await vault.delete(session, done.secret_id, user_id=done.user_id)
            done.secret_id = None


async def bank_accounts(session: AsyncSession, principal: Principal) -> Sequence[BankAccount]:
    return await BankAccountRepository(session).of(principal.user_id)


async def bank_account(session: AsyncSession, user_id: uuid.UUID, reference: str) -> BankAccount:
    """One of the user's bank accounts by our id or the provider's (`ba_...`)."""
    repository = BankAccountRepository(session)
    try:
        found = await repository.get_owned(user_id, uuid.UUID(reference))
    except ValueError:
        found = await repository.by_provider_id(user_id, reference)
    if found is None:
        raise BankAccountNotFound()
    return found
