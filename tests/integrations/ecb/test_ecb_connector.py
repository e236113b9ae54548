"""The ECB reference rates' contract, driven against its sandbox through the policy layer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx
import pytest
from pydantic import BaseModel

from gigforge.integrations.ecb import SPEC, ECBConnector
from gigforge.integrations.ecb.sandbox import ECBSandbox, seed_rates
from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    ExchangeRates,
    Permanent,
    Transient,
)
from sandbox_support import RecordedSleep


def test_the_spec_is_keyless_budgeted_and_states_the_reuse_terms() -> None:
    assert issubclass(ECBConnector, ExchangeRates)
    assert SPEC.capabilities == {Capability.exchange_rates}
    assert SPEC.auth_modes == (AuthMode.none,)
    assert SPEC.base_url == "https://www.ecb.europa.eu"
    assert SPEC.rate_limits == ("10/minute",)
    assert SPEC.terms.url == (
        "https://www.ecb.europa.eu/services/using-our-site/disclaimer/html/index.en.html"
    )
    assert "provided the source is acknowledged" in SPEC.terms.summary
    assert SPEC.test_call is not None
    assert SPEC.test_call.startswith("GET /stats/eurofxref/eurofxref-daily.xml")
    assert SPEC.config_schema()["properties"] == {}


def test_the_connector_refuses_another_integrations_config() -> None:
    class Other(BaseModel):
        pass

    with pytest.raises(TypeError, match="needs an ECBConfig"):
        ECBConnector(httpx.AsyncClient(), Other())


async def test_latest_is_the_published_table_in_exact_decimals(
    connector: ECBConnector, sandbox: ECBSandbox
) -> None:
    table = await connector.latest()

    assert table.base == "EUR"
    assert table.day == date(2026, 1, 5) == sandbox.day
    assert table.source == "European Central Bank"
    assert dict(table.rates) == {code: Decimal(rate) for code, rate in seed_rates().items()}
    assert sandbox.faults.served == 1


async def test_cross_rates_come_from_the_euro_table(connector: ECBConnector) -> None:
    table = await connector.latest()

    assert table.rate("USD", "GBP") == Decimal("0.86935") / Decimal("1.1712")
    assert table.rate("PLN", "EUR") == 1 / Decimal("4.2143")
    assert table.rate("EUR", "CHF") == Decimal("0.9287")


async def test_test_reports_the_day_and_how_many_currencies(connector: ECBConnector) -> None:
    assert await connector.test() == {"day": "2026-01-05", "currencies": 29}


@pytest.mark.parametrize(
    ("corruption", "reason"),
    [
        ("truncated", r"not well-formed XML \(line \d+, column \d+\)"),
        ("html", "the root element is <html>, not gesmes:Envelope"),
        ("no_cube", "no Cube with a `time`"),
    ],
)
async def test_a_body_that_is_not_the_documented_feed_is_permanent(
    connector: ECBConnector, sandbox: ECBSandbox, corruption: str, reason: str
) -> None:
    sandbox.corruption = corruption  # type: ignore[assignment]

    with pytest.raises(Permanent, match=reason) as raised:
        await connector.latest()

    assert str(raised.value.detail).startswith(
        "European Central Bank answered without the documented reference rate feed: "
    )
    assert raised.value.upstream_status == 200
    assert sandbox.faults.served == 1


async def test_a_feed_declaring_entities_is_refused_without_expanding_them(
    connector: ECBConnector, sandbox: ECBSandbox
) -> None:
    sandbox.corruption = "doctype"

    with pytest.raises(Permanent, match="declares a document type or entities"):
        await connector.latest()


async def test_a_malformed_rate_fails_the_whole_table(
    connector: ECBConnector, sandbox: ECBSandbox
) -> None:
    sandbox.rates["SEK"] = "10,7825"

    with pytest.raises(Permanent, match="the SEK rate for 2026-01-05, '10,7825', is not"):
        await connector.latest()


async def test_a_503_is_retried_by_the_policy_layer_until_the_feed_answers(
    connector: ECBConnector, sandbox: ECBSandbox, sleep: RecordedSleep
) -> None:
    sandbox.outages = 2

    table = await connector.latest()

    assert table.rates["USD"] == Decimal("1.1712")
    assert sandbox.faults.served == 3
    assert len(sleep.delays) == 2


async def test_an_outage_that_outlasts_the_retries_is_transient(
    connector: ECBConnector, sandbox: ECBSandbox, sleep: RecordedSleep
) -> None:
    sandbox.outages = 100

    with pytest.raises(Transient) as raised:
        await connector.latest()

    assert raised.value.upstream_status == 503
    assert sandbox.faults.served == 6
    assert len(sleep.delays) == 5


async def test_a_429_is_retried_after_the_recorded_retry_after(
    connector: ECBConnector, sandbox: ECBSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 20

    table = await connector.latest()

    assert len(table.rates) == 29
    assert sleep.delays == [20.0]


async def test_a_missing_feed_is_permanent(connector: ECBConnector, sandbox: ECBSandbox) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 404

    with pytest.raises(Permanent) as raised:
        await connector.latest()

    assert raised.value.upstream_status == 404
    assert sandbox.faults.served == 1
