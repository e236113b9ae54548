"""The profile's money facts (`/users/me`): wallet balance and lifetime earnings, from the
ledger, in the user's home currency."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.profile import Fact, profile_facts
from gigforge.kit.money import minor_to_major
from gigforge.ledger.service import ledger
from gigforge.payments import preferences


@profile_facts.provider("wallet_balance")
async def wallet_balance(session: AsyncSession, user_id: uuid.UUID) -> Fact:
    currency = (await preferences.of(session, user_id)).home_currency
    balance = await ledger.balance(session, user_id, currency)
    return Fact(minor_to_major(balance.balance_minor, currency))


@profile_facts.provider("lifetime_earnings")
async def lifetime_earnings(session: AsyncSession, user_id: uuid.UUID) -> Fact:
    currency = (await preferences.of(session, user_id)).home_currency
    earned = await ledger.lifetime_earnings(session, user_id)
    return Fact(minor_to_major(earned.get(currency, 0), currency))
