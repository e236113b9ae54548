"""What every alert parser needs from a message: who sent it and when, a line-by-line text
rendering of each body (the plain part and the HTML part, read separately), and the small
grammar the platforms' alerts share: job links, "Label: value" lines, money with a currency.

HTML is rendered by the standard library's tokenizer only to keep its line structure and the
targets of its links; everything that leaves as a title or description goes through
`gigforge.kit.sanitize.plain_text`, so no markup from a message survives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage, Message
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser

from gigforge.integrations.framework.capabilities import Budget, BudgetKind
from gigforge.kit.money import major_to_minor

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1",
        "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "section", "table",
        "td", "th", "tr", "ul",
    }
)  # fmt: skip
_HIDDEN_TAGS = frozenset({"head", "script", "style", "title", "template"})
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?"
_LABEL_VALUE = re.compile(r"^(?P<label>[^:\d][^:]{0,40}?)\s*:\s*(?P<value>.+)$")
_FOOTER = re.compile(
    r"unsubscribe|\bmanage\b.*\b(?:settings|preferences|notifications)\b|notification settings"
    r"|email (?:settings|preferences)|you(?:'re| are) receiving|this (?:e-?mail|message) was"
    r" sent|отписаться|настро[йи]к\w* уведомлени|©",
    re.IGNORECASE,
)
_GREETING = re.compile(r"^(?:hi|hello|hey|dear|здравствуйте|привет|добрый день)\b", re.IGNORECASE)

_CURRENCY = re.compile(
    r"(?P<symbol>[$€£₽₹])|\b(?P<code>USD|EUR|GBP|RUB|INR|AUD|CAD)\b"
    r"|(?P<rouble>руб)",  # noqa: RUF001 - Cyrillic on purpose: "roubles"
    re.IGNORECASE,
)
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "₹": "INR"}
_AMOUNT = re.compile(
    r"(?<![\d.,])(?:(?P<grouped>\d{1,3}(?:[ \u00a0\u202f,]\d{3})+(?:\.\d{1,2})?)"
    r"|(?P<plain>\d+(?:[.,]\d{1,2})?))(?!\d)"
)
_HOURLY = re.compile(r"/\s*(?:hr|hour|h|час)\b|per hour|hourly|an hour|в час", re.IGNORECASE)
_UP_TO = re.compile(r"\b(?:up to|under|max(?:imum)?|до)\s*\W{0,2}\s*$", re.IGNORECASE)
_FROM = re.compile(r"\b(?:from|over|min(?:imum)?|от)\s*\W{0,2}\s*$", re.IGNORECASE)


class AlertSkipped(Exception):
    """A message that yields no listing; `reason` is a short code for logs and reports."""

    def __init__(self, reason: str, detail: str, *, platform: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.platform = platform
        super().__init__(detail)


class NotAnAlert(AlertSkipped):
    """Mail that is not a job alert: another sender, or a platform's other notifications."""


class MalformedAlert(AlertSkipped):
    """Mail that looks like an alert but does not carry what every alert carries."""


@dataclass(frozen=True)
class Alert:
    sender_domain: str
    subject: str
    message_id: str | None
    posted_at: datetime | None
    # The text/plain rendering first, then the text/html one; each a tuple of non-empty lines.
    renderings: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Link:
    url: str
    label: str
    line: int


def sender_domain(message: Message) -> str:
    _, address = parseaddr(str(message.get("From", "")))
    return address.rpartition("@")[2].strip().strip(".>").lower()


def subject_of(message: Message) -> str:
    return _SPACE.sub(" ", str(message.get("Subject", ""))).strip()


def domain_matches(domain: str, domains: tuple[str, ...]) -> bool:
    return any(domain == known or domain.endswith("." + known) for known in domains)


def read_alert(message: EmailMessage) -> Alert:
    plain: list[str] = []
    html: list[str] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain":
            plain.extend(_lines(_text_of(part)))
        elif content_type == "text/html":
            html.extend(_lines(_render_html(_text_of(part))))
    renderings = tuple(tuple(lines) for lines in (plain, html) if lines)
    if not renderings:
        raise MalformedAlert("no_text", "the message has no readable text part")
    return Alert(
        sender_domain=sender_domain(message),
        subject=subject_of(message),
        message_id=str(message["Message-ID"]).strip() if message["Message-ID"] else None,
        posted_at=_date(message),
        renderings=renderings,
    )


def links(lines: tuple[str, ...]) -> list[Link]:
    """Every http(s) link, with the text before it on its line as its label (HTML anchors are
    rendered as `label <url>`, and plain-text alerts mostly write links the same way)."""
    found: list[Link] = []
    for index, line in enumerate(lines):
        for match in _URL.finditer(line):
            label = line[: match.start()].rstrip(" <:-\u2013\u2014\t")
            label = _URL.sub("", label).strip(" <>")
            found.append(Link(url=match[0].rstrip(_URL_TRAILING), label=label, line=index))
    return found


def label_value(line: str) -> tuple[str, str] | None:
    if _URL.search(line):
        return None
    match = _LABEL_VALUE.match(line)
    if not match:
        return None
    return match["label"].strip().lower(), match["value"].strip()


def is_footer(line: str) -> bool:
    return bool(_FOOTER.search(line))


def is_greeting(line: str) -> bool:
    return bool(_GREETING.match(line))


def parse_budget(values: list[tuple[str, str]], *, default_currency: str | None) -> Budget | None:
    """One budget from the alert's budget lines, given as (label, value) pairs.

    A value names one amount, a range, or a bound ("up to", "до", "from"). Several lines, such
    as Kwork's desired and allowed budgets, span one range from the smallest amount they name
    to the largest. Hourly when a label or value says so. An amount without a currency takes
    the platform's; with neither there is no budget rather than a guessed one.
    """
    spans: list[tuple[Decimal | None, Decimal | None]] = []
    currency: str | None = None
    hourly = False
    for label, value in values:
        found = _amounts(value)
        if not found:
            continue
        currency = currency or _currency(value)
        hourly = hourly or bool(_HOURLY.search(label) or _HOURLY.search(value))
        spans.append(_span(found))
    currency = currency or default_currency
    if not spans or currency is None:
        return None
    if len(spans) == 1:
        low, high = spans[0]
    else:
        named = [amount for span in spans for amount in span if amount is not None]
        low, high = min(named), max(named)
    try:
        return Budget(
            kind=BudgetKind.hourly if hourly else BudgetKind.fixed,
            currency=currency,
            min_minor=major_to_minor(low, currency) if low is not None else None,
            max_minor=major_to_minor(high, currency) if high is not None else None,
        )
    except ValueError:
        return None


def _span(found: list[tuple[Decimal, str]]) -> tuple[Decimal | None, Decimal | None]:
    if len(found) > 1:
        amounts = [amount for amount, _ in found]
        return min(amounts), max(amounts)
    amount, before = found[0]
    if _UP_TO.search(before):
        return None, amount
    if _FROM.search(before):
        return amount, None
    return amount, amount


def _amounts(value: str) -> list[tuple[Decimal, str]]:
    """Each amount in `value` with the text before it (which may say "up to" or "from")."""
    found: list[tuple[Decimal, str]] = []
    for match in _AMOUNT.finditer(value):
        if match["grouped"]:
            digits = re.sub(r"[ \u00a0\u202f,]", "", match["grouped"])
        else:
            digits = match["plain"].replace(",", ".")
        try:
            amount = Decimal(digits)
        except InvalidOperation:
            continue
        before = _CURRENCY.sub("", value[: match.start()])
        found.append((amount, before))
    return found


def _currency(value: str) -> str | None:
    match = _CURRENCY.search(value)
    if not match:
        return None
    if match["symbol"]:
        return _SYMBOLS[match["symbol"]]
    if match["code"]:
        return match["code"].upper()
    return "RUB"


def _date(message: Message) -> datetime | None:
    header = message.get("Date")
    if header is None:
        return None
    moment = getattr(header, "datetime", None)
    if not isinstance(moment, datetime):
        try:
            moment = parsedate_to_datetime(str(header))
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _text_of(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except (LookupError, UnicodeError, ValueError):
            content = None
        if isinstance(content, str):
            return content
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _lines(text: str) -> list[str]:
    return [line for raw in text.splitlines() if (line := _SPACE.sub(" ", raw).strip())]


class _Renderer(HTMLParser):
    """Visible text with a line break at every block, and each link as `label <href>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0
        self._href: str | None = None
        self._label: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self._text("\n")
        elif tag == "a":
            self._href = next((value for name, value in attrs if name == "href" and value), None)
            self._label = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self._text("\n")
        elif tag == "a" and self._href is not None:
            href, self._href = self._href, None
            self.chunks.append(f"{' '.join(self._label)} <{href.strip()}> ")

    def handle_data(self, data: str) -> None:
        self._text(data)

    def _text(self, data: str) -> None:
        if self._hidden:
            return
        if self._href is not None and data != "\n":
            self._label.append(data)
        else:
            self.chunks.append(data)


def _render_html(html: str) -> str:
    renderer = _Renderer()
    renderer.feed(html)
    renderer.close()
    return "".join(renderer.chunks)
