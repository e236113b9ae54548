"""Pure translations from the ECB's daily reference rate feed to a `RateTable`.

The feed (https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml) is a GESMES envelope
whose rates sit in three nested `Cube` elements of the eurofxref vocabulary:

    <gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
                     xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
      <gesmes:subject>Reference rates</gesmes:subject>
      <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
      <Cube>
        <Cube time="2026-01-05">
          <Cube currency="USD" rate="1.1712"/>
          ...

`rate` is how many units of `currency` one euro buys, written as a plain decimal. The feed
never carries a document type, so a body that declares one (the road to entity expansion and
external entities) is refused before anything in it is read. Everything that is not this shape
raises `MalformedFeed`, whose message says what was wrong.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

from gigforge.integrations.ecb.spec import BASE_CURRENCY, EUROFXREF_NS, GESMES_NS, SOURCE_NAME
from gigforge.integrations.framework.payments import RateTable

_ENVELOPE = f"{{{GESMES_NS}}}Envelope"
_CUBE = f"{{{EUROFXREF_NS}}}Cube"
_CURRENCY = re.compile(r"[A-Z]{3}")
_RATE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class MalformedFeed(ValueError):
    """A body that is not the documented feed; the message says which part failed."""


def read_envelope(body: bytes) -> Element:
    """The feed's root element, parsed with document types refused. The XML declaration names
    the encoding, so the parser is given bytes and decodes them itself."""
    try:
        root: Element = fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise MalformedFeed(
            "the body declares a document type or entities, which the feed never does; "
            "it was refused unread"
        ) from None
    except ParseError as exc:
        line, column = exc.position
        raise MalformedFeed(
            f"the body is not well-formed XML (line {line}, column {column})"
        ) from None
    if root.tag != _ENVELOPE:
        raise MalformedFeed(f"the root element is <{_local(root.tag)}>, not gesmes:Envelope")
    return root


def to_rate_table(envelope: Element) -> RateTable:
    """The newest day in the envelope. The daily feed holds one day; the ECB's 90-day and
    historical feeds share the shape with a day per `Cube time`, so the newest is taken."""
    outer = envelope.find(_CUBE)
    if outer is None:
        raise MalformedFeed("the envelope has no Cube element")
    days = [(_day(cube), cube) for cube in outer.findall(_CUBE) if "time" in cube.attrib]
    if not days:
        raise MalformedFeed("the envelope's Cube holds no Cube with a `time`")
    day, cube = max(days, key=lambda entry: entry[0])
    return RateTable(base=BASE_CURRENCY, day=day, rates=_rates(cube, day), source=SOURCE_NAME)


def _day(cube: Element) -> date:
    text = cube.attrib["time"].strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MalformedFeed(f"a Cube's time {text[:40]!r} is not a YYYY-MM-DD date") from None


def _rates(cube: Element, day: date) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for entry in cube.findall(_CUBE):
        currency = entry.attrib.get("currency", "").strip()
        text = entry.attrib.get("rate", "").strip()
        if not _CURRENCY.fullmatch(currency):
            raise MalformedFeed(
                f"a rate for {day} has the currency {currency[:40]!r}, not an ISO 4217 code"
            )
        if currency == BASE_CURRENCY:
            raise MalformedFeed(f"the rates for {day} list {BASE_CURRENCY}, their own base")
        if currency in rates:
            raise MalformedFeed(f"{currency} is listed twice for {day}")
        rate = Decimal(text) if _RATE.fullmatch(text) else Decimal(0)
        if rate <= 0:
            raise MalformedFeed(
                f"the {currency} rate for {day}, {text[:40]!r}, is not a positive decimal number"
            )
        rates[currency] = rate
    if not rates:
        raise MalformedFeed(f"the Cube for {day} lists no rates")
    return rates


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
