"""The ECB's daily reference rate feed, in its documented shape, read into a `RateTable`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gigforge.integrations.ecb.mapping import MalformedFeed, read_envelope, to_rate_table
from gigforge.integrations.ecb.sandbox import render_feed, seed_rates
from gigforge.integrations.framework.payments import RateTable

ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
    'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">\n'
    "\t<gesmes:subject>Reference rates</gesmes:subject>\n"
    "\t<gesmes:Sender>\n\t\t<gesmes:name>European Central Bank</gesmes:name>\n"
    "\t</gesmes:Sender>\n"
)
ENVELOPE_CLOSE = "</gesmes:Envelope>\n"

DAILY = (
    ENVELOPE_OPEN
    + "\t<Cube>\n"
    + "\t\t<Cube time='2025-11-14'>\n"
    + "\t\t\t<Cube currency='USD' rate='1.1635'/>\n"
    + "\t\t\t<Cube currency='JPY' rate='179.52'/>\n"
    + "\t\t\t<Cube currency='GBP' rate='0.88380'/>\n"
    + "\t\t\t<Cube currency='PLN' rate='4.2435'/>\n"
    + "\t\t\t<Cube currency='IDR' rate='19427.40'/>\n"
    + "\t\t</Cube>\n"
    + "\t</Cube>\n"
    + ENVELOPE_CLOSE
)


def envelope(cubes: str) -> bytes:
    return (ENVELOPE_OPEN + cubes + ENVELOPE_CLOSE).encode()


def day_cube(*rates: tuple[str, str], time: str = "2025-11-14") -> bytes:
    entries = "".join(f"<Cube currency='{code}' rate='{rate}'/>" for code, rate in rates)
    return envelope(f"<Cube><Cube time='{time}'>{entries}</Cube></Cube>")


def read(body: bytes | str) -> RateTable:
    return to_rate_table(read_envelope(body.encode() if isinstance(body, str) else body))


def test_the_documented_daily_feed_becomes_a_euro_table_of_exact_decimals() -> None:
    table = read(DAILY)

    assert table.base == "EUR"
    assert table.day == date(2025, 11, 14)
    assert table.source == "European Central Bank"
    assert dict(table.rates) == {
        "USD": Decimal("1.1635"),
        "JPY": Decimal("179.52"),
        "GBP": Decimal("0.88380"),
        "PLN": Decimal("4.2435"),
        "IDR": Decimal("19427.40"),
    }
    assert all(type(rate) is Decimal for rate in table.rates.values())


def test_cross_rates_go_through_the_euro_without_losing_precision() -> None:
    table = read(DAILY)

    assert table.rate("USD", "GBP") == Decimal("0.88380") / Decimal("1.1635")
    assert str(table.rate("USD", "GBP")) == "0.7596046411688869789428448646"
    assert table.rate("EUR", "PLN") == Decimal("4.2435")
    assert table.rate("JPY", "EUR") == 1 / Decimal("179.52")
    assert table.rate("GBP", "GBP") == 1
    with pytest.raises(KeyError):
        table.rate("EUR", "RUB")


def test_the_sandbox_feed_reads_as_the_seed_table() -> None:
    table = read(render_feed(date(2026, 1, 5), seed_rates()))

    assert table.day == date(2026, 1, 5)
    assert {code: str(rate) for code, rate in table.rates.items()} == seed_rates()
    assert len(table.rates) == 29
    assert {"RUB", "BGN", "EUR"}.isdisjoint(table.rates)


def test_a_feed_with_several_days_yields_the_newest() -> None:
    body = envelope(
        "<Cube>"
        "<Cube time='2025-11-14'><Cube currency='USD' rate='1.1635'/></Cube>"
        "<Cube time='2025-11-13'><Cube currency='USD' rate='1.1631'/></Cube>"
        "<Cube time='2025-11-17'><Cube currency='USD' rate='1.1592'/></Cube>"
        "</Cube>"
    )

    table = read(body)

    assert (table.day, table.rates["USD"]) == (date(2025, 11, 17), Decimal("1.1592"))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>\n'
            "<lolz>&lol1;</lolz>",
            id="entity-expansion",
        ),
        pytest.param(
            '<?xml version="1.0"?>\n<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            "<foo>&xxe;</foo>",
            id="external-entity",
        ),
        pytest.param(
            '<?xml version="1.0"?>\n<!DOCTYPE gesmes:Envelope SYSTEM "http://evil.test/x.dtd">\n'
            + DAILY.split("\n", 1)[1],
            id="external-dtd",
        ),
        pytest.param(
            '<?xml version="1.0"?>\n<!DOCTYPE gesmes:Envelope>\n' + DAILY.split("\n", 1)[1],
            id="bare-doctype",
        ),
    ],
)
def test_a_body_with_a_document_type_is_refused_unread(body: str) -> None:
    with pytest.raises(MalformedFeed, match="declares a document type or entities"):
        read_envelope(body.encode())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (DAILY.encode()[:300], r"not well-formed XML \(line \d+, column \d+\)"),
        (b"", r"not well-formed XML \(line 1, column 0\)"),
        (b"<html><body>Service unavailable</body></html>", "root element is <html>"),
        (b'{"rates": {}}', "not well-formed XML"),
        (
            b"<Envelope><Cube><Cube time='2025-11-14'/></Cube></Envelope>",
            "root element is <Envelope>, not gesmes:Envelope",
        ),
    ],
)
def test_a_body_that_is_not_the_envelope_is_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedFeed, match=reason):
        read_envelope(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (envelope(""), "no Cube element"),
        (
            envelope("<Cube xmlns=''><Cube time='2025-11-14'/></Cube>"),
            "no Cube element",
        ),
        (envelope("<Cube></Cube>"), "no Cube with a `time`"),
        (envelope("<Cube><Cube><Cube currency='USD' rate='1.1'/></Cube></Cube>"), "`time`"),
        (day_cube(("USD", "1.1635"), time="14/11/2025"), "'14/11/2025' is not a YYYY-MM-DD"),
        (day_cube(), "the Cube for 2025-11-14 lists no rates"),
        (day_cube(("usd", "1.1635")), "currency 'usd', not an ISO 4217 code"),
        (envelope("<Cube><Cube time='2025-11-14'><Cube rate='1.1'/></Cube></Cube>"), "''"),
        (day_cube(("EUR", "1")), "list EUR, their own base"),
        (day_cube(("USD", "1.1635"), ("USD", "1.1640")), "USD is listed twice"),
    ],
)
def test_an_envelope_without_the_documented_cubes_is_malformed(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedFeed, match=reason):
        read(body)


@pytest.mark.parametrize("rate", ["1,1635", "-1.1635", "0", "0.0000", "NaN", "Infinity", "1e3", ""])
def test_a_rate_that_is_not_a_positive_plain_decimal_is_malformed(rate: str) -> None:
    with pytest.raises(MalformedFeed, match=f"the USD rate for 2025-11-14, '{rate}', is not"):
        read(day_cube(("GBP", "0.88380"), ("USD", rate)))
