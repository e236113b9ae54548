"""One pure parser per platform, `parse_<platform>(message) -> list[JobPosting]`, and
`parse_alert`, which picks the parser by the sender's domain; `parse_award` reads the
platforms' "you won" mail instead (see `awards`).

Each raises `NotAnAlert` for mail that is no job alert and `MalformedAlert` for an alert that
lacks what every alert carries (a job link, a title); the connector logs and skips both.
"""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers import fiverr, guru, kwork, peopleperhour, toptal
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat
from gigforge.integrations.imap_alerts.parsers._mail import (
    AlertSkipped,
    MalformedAlert,
    NotAnAlert,
    domain_matches,
    sender_domain,
)
from gigforge.integrations.imap_alerts.parsers.awards import parse_award
from gigforge.integrations.imap_alerts.parsers.fiverr import parse_fiverr
from gigforge.integrations.imap_alerts.parsers.guru import parse_guru
from gigforge.integrations.imap_alerts.parsers.kwork import parse_kwork
from gigforge.integrations.imap_alerts.parsers.peopleperhour import parse_peopleperhour
from gigforge.integrations.imap_alerts.parsers.toptal import parse_toptal

Parser = Callable[[EmailMessage], list[JobPosting]]

PARSERS: tuple[tuple[AlertFormat, Parser], ...] = (
    (fiverr.FORMAT, parse_fiverr),
    (guru.FORMAT, parse_guru),
    (peopleperhour.FORMAT, parse_peopleperhour),
    (toptal.FORMAT, parse_toptal),
    (kwork.FORMAT, parse_kwork),
)


def parse_message(raw: bytes) -> EmailMessage:
    """RFC 5322 bytes as the modern `email` API sees them (headers decoded, `get_content`)."""
    return BytesParser(_class=EmailMessage, policy=policy.default).parsebytes(raw)


def parse_alert(message: EmailMessage) -> list[JobPosting]:
    domain = sender_domain(message)
    for alert_format, parse in PARSERS:
        if domain_matches(domain, alert_format.sender_domains):
            return parse(message)
    raise NotAnAlert("unknown_sender", "not sent by a platform this integration reads")


__all__ = [
    "PARSERS",
    "AlertSkipped",
    "MalformedAlert",
    "NotAnAlert",
    "parse_alert",
    "parse_award",
    "parse_fiverr",
    "parse_guru",
    "parse_kwork",
    "parse_message",
    "parse_peopleperhour",
    "parse_toptal",
]
