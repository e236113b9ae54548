"""A local ECB for tests and demo mode.

It serves `GET /stats/eurofxref/eurofxref-daily.xml` as the ECB writes it: the GESMES envelope,
tab-indented, attributes in single quotes, `text/xml`. The one day of rates is dated the latest
TARGET working day whose rates are out: the ECB publishes around 16:00 CET, so before 15:00
UTC (16:00 CET in winter, 17:00 CEST in summer) the previous working day's table is served,
and never a weekend's or a TARGET holiday's (New Year's Day, Good Friday, Easter Monday,
1 May, 25 and 26 December). The rates are a fixed, realistic table in the ECB's own order and
precision; the rouble is absent (suspended since March 2022), and so is the lev (Bulgaria
adopted the euro in 2026).

Faults come from `FaultInjector`; `outages` answers the next requests with the site's 503
maintenance page, to show a retry. Error pages are HTML, as on the site. `corruption` serves a
body cut off midway, an HTML page, an envelope without its day's `Cube`, or a document type
with nested entities (a "billion laughs" body).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from xml.sax.saxutils import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.ecb.spec import DAILY_PATH, EUROFXREF_NS, GESMES_NS, SOURCE_NAME
from gigforge.integrations.framework.sandbox import FaultInjector, Faults

Corruption = Literal["truncated", "html", "no_cube", "doctype"]

# Rates are out by 15:00 UTC whether Frankfurt keeps winter or summer time.
PUBLISHED_BY_UTC = time(15, 0)
_APOSTROPHE = {"'": "&apos;"}


def seed_rates() -> dict[str, str]:
    """Units of each currency one euro buys, as the ECB writes them."""
    return {
        "USD": "1.1712",
        "JPY": "183.47",
        "CZK": "24.215",
        "DKK": "7.4691",
        "GBP": "0.86935",
        "HUF": "384.25",
        "PLN": "4.2143",
        "RON": "5.0912",
        "SEK": "10.7825",
        "CHF": "0.9287",
        "ISK": "147.60",
        "NOK": "11.7930",
        "TRY": "50.2104",
        "AUD": "1.7508",
        "BRL": "6.3541",
        "CAD": "1.6187",
        "CNY": "8.2396",
        "HKD": "9.1108",
        "IDR": "19562.35",
        "ILS": "3.7421",
        "INR": "105.6230",
        "KRW": "1694.52",
        "MXN": "21.1960",
        "MYR": "4.7823",
        "NZD": "2.0214",
        "PHP": "68.914",
        "SGD": "1.5086",
        "THB": "37.215",
        "ZAR": "19.8874",
    }


def easter_sunday(year: int) -> date:
    """The Gregorian Easter Sunday, by the Meeus/Jones/Butcher algorithm."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def is_target_working_day(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    easter = easter_sunday(day.year)
    closed = {
        date(day.year, 1, 1),
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        date(day.year, 5, 1),
        date(day.year, 12, 25),
        date(day.year, 12, 26),
    }
    return day not in closed


def publication_day(now: datetime) -> date:
    """The day of the rates the feed shows at `now`."""
    moment = now.astimezone(UTC)
    day = moment.date()
    if is_target_working_day(day) and moment.time() >= PUBLISHED_BY_UTC:
        return day
    day -= timedelta(days=1)
    while not is_target_working_day(day):
        day -= timedelta(days=1)
    return day


def render_feed(day: date, rates: dict[str, str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<gesmes:Envelope xmlns:gesmes="{GESMES_NS}" xmlns="{EUROFXREF_NS}">',
        "\t<gesmes:subject>Reference rates</gesmes:subject>",
        "\t<gesmes:Sender>",
        f"\t\t<gesmes:name>{SOURCE_NAME}</gesmes:name>",
        "\t</gesmes:Sender>",
        "\t<Cube>",
        f"\t\t<Cube time='{day.isoformat()}'>",
        *(
            f"\t\t\t<Cube currency='{escape(code, _APOSTROPHE)}' "
            f"rate='{escape(rate, _APOSTROPHE)}'/>"
            for code, rate in rates.items()
        ),
        "\t\t</Cube>",
        "\t</Cube>",
        "</gesmes:Envelope>",
    ]
    return "\n".join(lines) + "\n"


def _without_day(body: str) -> str:
    start = body.index("\t\t<Cube time=")
    end = body.index("\t\t</Cube>\n") + len("\t\t</Cube>\n")
    return body[:start] + body[end:]


def _billion_laughs() -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!DOCTYPE gesmes:Envelope [{''.join(entities)}]>\n"
        f'<gesmes:Envelope xmlns:gesmes="{GESMES_NS}" xmlns="{EUROFXREF_NS}">'
        "<gesmes:subject>&lol9;</gesmes:subject></gesmes:Envelope>\n"
    )


@dataclass
class ECBSandbox:
    """State a test can read and turn: the day and rates served, the faults."""

    faults: Faults
    day: date
    rates: dict[str, str]
    corruption: Corruption | None = None
    outages: int = 0
    app: ASGIApp = field(init=False)

    def __post_init__(self) -> None:
        routes = [Route(DAILY_PATH, self._daily, methods=["GET"])]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, html_error)

    async def _daily(self, request: Request) -> Response:
        if self.outages > 0:
            self.outages -= 1
            return html_error(503, "The service is temporarily unavailable")
        body = render_feed(self.day, self.rates)
        if self.corruption == "truncated":
            return _xml(body[: len(body) // 2])
        if self.corruption == "html":
            return HTMLResponse("<html><body><h1>Scheduled maintenance</h1></body></html>")
        if self.corruption == "no_cube":
            return _xml(_without_day(body))
        if self.corruption == "doctype":
            return _xml(_billion_laughs())
        return _xml(body)


def html_error(status: int, message: str) -> Response:
    title = f"<head><title>{status}</title></head>"
    page = f"<html>{title}<body><h1>{escape(message)}</h1></body></html>"
    return HTMLResponse(page, status_code=status)


def _xml(body: str) -> Response:
    return Response(body.encode(), media_type="text/xml")


def create_sandbox(*, faults: Faults | None = None, now: datetime | None = None) -> ECBSandbox:
    return ECBSandbox(
        faults=faults or Faults(),
        day=publication_day(now or datetime.now(UTC)),
        rates=seed_rates(),
    )
