"""The ECB's daily reference rates: one GET, one small XML document, one `RateTable`.

The table is the ECB's latest publication, whatever its date: over a weekend or a TARGET
holiday that is the last working day's, and before about 16:00 CET the previous one's. The
caller reads `RateTable.day` to judge whether that is recent enough. A body that is not the
documented feed, or declares a document type, is `Permanent`; failures of the request itself
are the policy layer's (5xx retried as `Transient`).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel

from gigforge.integrations.ecb.mapping import MalformedFeed, read_envelope, to_rate_table
from gigforge.integrations.ecb.spec import DAILY_PATH, SPEC, ECBConfig
from gigforge.integrations.framework.capabilities import ExchangeRates
from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.framework.payments import RateTable


class ECBConnector(ExchangeRates):
    spec = SPEC
    config: ECBConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, ECBConfig):
            raise TypeError(f"{SPEC.title} needs an ECBConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        table = await self.latest()
        return {"day": table.day.isoformat(), "currencies": len(table.rates)}

    async def latest(self) -> RateTable:
        response = await self.client.get(DAILY_PATH)
        body = await response.aread()
        try:
            return to_rate_table(read_envelope(body))
        except MalformedFeed as exc:
            raise Permanent(
                f"{SPEC.title} answered without the documented reference rate feed: {exc}",
                integration=SPEC.slug,
                status=response.status_code,
            ) from None
