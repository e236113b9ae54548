"""Reference exchange rates, for the home-currency amount an issued invoice snapshots.

A scheduled task (`payments.refresh_rates`, daily) reads the latest table from the installed
integration with the exchange-rates capability (the European Central Bank's reference rates)
and keeps it in `exchange_rates`; issuing an invoice reads the table, never the network. A
pair the table lacks makes the user enter the rate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.integrations.framework import Capability, ExchangeRates, NoCredentials
from gigforge.integrations.sandboxes import sandbox_base_url
from gigforge.kit.clock import utcnow
from gigforge.kit.db import dialect_insert, unit_of_work
from gigforge.kit.money import currency_exponent
from gigforge.payments.models import ExchangeRate

REFRESH_TASK = "payments.refresh_rates"


def convert(amount_minor: int, from_currency: str, to_currency: str, rate: Decimal) -> int:
    """`amount_minor` of `from_currency` in `to_currency`'s minor units at `rate` (units of
    `to_currency` per unit of `from_currency`), rounded half up."""
    if from_currency == to_currency:
        return amount_minor
    major = Decimal(amount_minor).scaleb(-currency_exponent(from_currency))
    converted = (major * rate).scaleb(currency_exponent(to_currency))
    return int(converted.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def rate_for(
    session: AsyncSession, from_currency: str, to_currency: str
) -> tuple[Decimal, str] | None:
    """(units of `to_currency` per `from_currency`, where the rate came from), crossed through
    the table's base; None when the table lacks either currency."""
    rows = (
        (
            await session.execute(
                select(ExchangeRate).where(ExchangeRate.currency.in_([from_currency, to_currency]))
            )
        )
        .scalars()
        .all()
    )
    by_currency = {row.currency: row for row in rows}
    bases = {row.base for row in rows}
    base = next(iter(bases)) if len(bases) == 1 else None
    if base is None and not rows:
        return None
    if base is None:
        return None

    def per_base(code: str) -> Decimal | None:
        if code == base:
            return Decimal(1)
        row = by_currency.get(code)
        return row.rate if row is not None else None

    source_rate, target_rate = per_base(from_currency), per_base(to_currency)
    if source_rate is None or target_rate is None:
        return None
    day = max(row.day for row in rows)
    source = next(iter(rows)).source
    rate = (target_rate / source_rate).quantize(Decimal("0.0000000001"))
    return rate, f"{source}, {day:%Y-%m-%d}"


async def refresh(context: IntegrationContext) -> int:
    """Fetch the latest reference rates and keep them; returns how many currencies."""
    specs = context.registry.with_capability(Capability.exchange_rates)
    if not specs:
        return 0
    spec = specs[0]
    base_url = sandbox_base_url(context, spec.slug) if context.settings.sandbox else None
    rebased = context.spec_for(spec.slug, base_url)
    connector = context.registry.get(spec.slug)(
        context.runtime.client(rebased, connection="platform-rates", credentials=NoCredentials()),
        rebased.config_model.model_construct(),
    )
    assert isinstance(connector, ExchangeRates)
    async with connector.client:
        table = await connector.latest()
    day = datetime(table.day.year, table.day.month, table.day.day, tzinfo=UTC)
    async with unit_of_work(context.database) as session:
        for currency, rate in table.rates.items():
            statement = dialect_insert(session, ExchangeRate).values(
                base=table.base,
                currency=currency,
                rate=rate,
                day=day,
                source=table.source[:100],
                fetched_at=utcnow(),
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["base", "currency"],
                    set_={
                        "rate": statement.excluded.rate,
                        "day": statement.excluded.day,
                        "source": statement.excluded.source,
                        "fetched_at": statement.excluded.fetched_at,
                    },
                )
            )
    return len(table.rates)
