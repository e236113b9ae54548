"""A user's payment choices: home currency and the capped rule that approves payouts."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.users_service import users as user_service
from gigforge.audit.service import audit as audit_service
from gigforge.payments.errors import InvalidPayoutState
from gigforge.payments.models import PaymentSettings
from gigforge.payments.repository import SettingsRepository


async def of(session: AsyncSession, user_id: uuid.UUID) -> PaymentSettings:
    """The user's settings (not saved until changed): their currency, no automatic payouts."""
    found = await SettingsRepository(session).of(user_id)
    if found is not None:
        return found
    return PaymentSettings(
        user_id=user_id,
        home_currency=await user_service.currency_of(session, user_id),
        auto_payout_max_minor=0,
        auto_payout_daily_max_minor=0,
    )


async def update(
    session: AsyncSession,
    principal: Principal,
    *,
    home_currency: str | None,
    auto_payout_max_minor: int | None,
    auto_payout_daily_max_minor: int | None,
) -> PaymentSettings:
    repository = SettingsRepository(session)
    current = await of(session, principal.user_id)
    per_payout = (
        auto_payout_max_minor
        if auto_payout_max_minor is not None
        else current.auto_payout_max_minor
    )
    per_day = (
        auto_payout_daily_max_minor
        if auto_payout_daily_max_minor is not None
        else current.auto_payout_daily_max_minor
    )
    if per_payout > 0 and per_day < per_payout:
        raise InvalidPayoutState(
            "The daily cap of automatic payouts must be at least the cap of one payout"
        )
    settings = await repository.of(principal.user_id)
    if settings is None:
        settings = current
        repository.add(settings)
    if home_currency is not None:
        settings.home_currency = home_currency
    if auto_payout_max_minor is not None:
        settings.auto_payout_max_minor = auto_payout_max_minor
    if auto_payout_daily_max_minor is not None:
        settings.auto_payout_daily_max_minor = auto_payout_daily_max_minor
    await session.flush()
    await audit_service.record(
        session,
        principal.actor,
        action="payments.settings_changed",
        target_type="payment_settings",
        user_id=principal.user_id,
        data={
            "home_currency": settings.home_currency,
            "auto_payout_max_minor": settings.auto_payout_max_minor,
            "auto_payout_daily_max_minor": settings.auto_payout_daily_max_minor,
        },
    )
    return settings
