"""Emails that say the user won work on a hand-off platform, read as `Award`s.

These platforms offer no API for their freelancers, so their own notification is the only
sanctioned signal that a proposal won. None of them publishes its email format; each
`AwardFormat` follows the wording their help centres use for the event and that users'
published mail filters match:

- Fiverr, "You've got a new order" / "You received a new order from <buyer>": a buyer paid
  for a gig, so the work is `accepted` from the start. The order page,
  https://www.fiverr.com/orders/<order id>, carries the id (FO followed by letters and digits).
- PeoplePerHour, "<client> accepted your proposal" / "Your proposal has been accepted": the
  project is `accepted`; its page, https://www.peopleperhour.com/freelance-jobs/.../<slug>-<id>,
  carries the id.
- Guru, "You have been awarded a job" / "Congratulations! You've been awarded <title>": an
  award the freelancer still accepts on Guru, so `awarded`; the job page,
  https://www.guru.com/jobs/<slug>/<id>, carries the id.

These platforms show the user no bid id, so the project (or order) id is both the award's
project and its bid: callers match it to the proposal made for that project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from gigforge.integrations.framework.capabilities import Award, AwardStatus
from gigforge.integrations.imap_alerts.parsers import fiverr, guru, peopleperhour
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat
from gigforge.integrations.imap_alerts.parsers._mail import (
    MalformedAlert,
    NotAnAlert,
    domain_matches,
    label_value,
    links,
    parse_budget,
    read_alert,
    sender_domain,
    subject_of,
)
from gigforge.kit.sanitize import plain_text

AWARD_SOURCE = "imap_alerts"


@dataclass(frozen=True)
class AwardFormat:
    # The platform's job-alert format: the same sender domains, hosts and currency.
    alert: AlertFormat
    # Recognises the award's subject; groups named `client` and `title` are read when present.
    subject: re.Pattern[str]
    # Matched against a link's path: a group named `id` is the project or order id.
    project_link: re.Pattern[str]
    status: AwardStatus
    amount_labels: tuple[str, ...]
    # Lines in the body that name the client, e.g. "Buyer: jane_doe".
    client_labels: tuple[str, ...] = ("client", "buyer", "employer")
    title_labels: tuple[str, ...] = ("project", "job", "gig")


FIVERR = AwardFormat(
    alert=fiverr.FORMAT,
    subject=re.compile(
        r"you(?:['\u2019]ve| have) (?:got|received) (?:a new|an) order"
        r"(?: from (?P<client>[\w.-]+))?",
        re.IGNORECASE,
    ),
    project_link=re.compile(r"^/orders/(?P<id>FO[A-Z0-9]{6,})/?$", re.IGNORECASE),
    status="accepted",
    amount_labels=("total", "order total", "price", "amount"),
)
PEOPLEPERHOUR = AwardFormat(
    alert=peopleperhour.FORMAT,
    subject=re.compile(
        r"^(?P<client>.+?) (?:has )?accepted your proposal|your proposal (?:has been|was) accepted",
        re.IGNORECASE,
    ),
    project_link=peopleperhour.FORMAT.job_link,
    status="accepted",
    amount_labels=("proposal amount", "amount", "price", "budget", "fixed price", "hourly rate"),
)
GURU = AwardFormat(
    alert=guru.FORMAT,
    subject=re.compile(
        r"(?:you(?:['\u2019]ve| have) been|you were) awarded"
        r"(?: (?:a|the) job)?(?::\s*(?P<title>.+))?",
        re.IGNORECASE,
    ),
    project_link=re.compile(r"^/jobs/[A-Za-z0-9._~%-]+/(?P<id>\d+)/?$"),
    status="awarded",
    amount_labels=("amount", "budget", "fixed price", "hourly rate", "agreed price"),
)
AWARD_FORMATS = (FIVERR, PEOPLEPERHOUR, GURU)


def parse_award(message: EmailMessage) -> Award:
    """The award an email announces; `NotAnAlert` for any other mail, `MalformedAlert` for
    an award email without a link to the project it is about."""
    domain = sender_domain(message)
    subject = subject_of(message)
    for award_format in AWARD_FORMATS:
        alert_format = award_format.alert
        if not domain_matches(domain, alert_format.sender_domains):
            continue
        match = award_format.subject.search(subject)
        if match is None:
            raise NotAnAlert(
                "not_an_award",
                f"{alert_format.name} mail that announces no award",
                platform=alert_format.platform,
            )
        return _award(award_format, message, match)
    raise NotAnAlert("unknown_sender", "not sent by a platform this integration reads")


def _award(award_format: AwardFormat, message: EmailMessage, subject: re.Match[str]) -> Award:
    alert_format = award_format.alert
    platform = alert_format.platform
    try:
        alert = read_alert(message)
    except MalformedAlert as exc:
        raise MalformedAlert(exc.reason, exc.detail, platform=platform) from None
    lines = max(alert.renderings, key=len)
    project = _project(award_format, alert.renderings)
    if project is None:
        raise MalformedAlert(
            "no_project_link",
            f"no {alert_format.name} project link in the award",
            platform=platform,
        )
    url, project_id, link_label = project
    fields = [pair for line in lines if (pair := label_value(line)) is not None]
    budget = parse_budget(
        [(label, value) for label, value in fields if _labelled(label, award_format.amount_labels)],
        default_currency=alert_format.currency,
    )
    amount = None if budget is None else budget.max_minor or budget.min_minor
    client = subject.groupdict().get("client") or _field(fields, award_format.client_labels)
    title = subject.groupdict().get("title") or _field(fields, award_format.title_labels)
    return Award(
        platform=platform,
        external_bid_id=project_id,
        external_project_id=project_id,
        status=award_format.status,
        amount_minor=amount,
        currency=budget.currency if budget is not None and amount is not None else None,
        awarded_at=alert.posted_at,
        client_name=(plain_text(client, limit=120) or None) if client else None,
        title=plain_text(title or link_label, limit=200) or None,
        url=url,
        raw={
            "source": AWARD_SOURCE,
            "sender_domain": alert.sender_domain,
            "subject": alert.subject,
            "message_id": alert.message_id,
        },
    )


def _project(
    award_format: AwardFormat, renderings: tuple[tuple[str, ...], ...]
) -> tuple[str, str, str] | None:
    """The first link to the platform's page for the project or order: (URL, id, its text)."""
    hosts = award_format.alert.hosts
    for lines in renderings:
        for link in links(lines):
            job = _on_host(link.url, hosts)
            if job is None:
                continue
            match = award_format.project_link.match(job[1])
            if match:
                return job[0], match["id"], link.label
    return None


def _on_host(url: str, hosts: frozenset[str]) -> tuple[str, str] | None:
    """(URL without query or fragment, path) for an http(s) link on one of `hosts`."""
    match = re.match(r"^https?://([^/?#:]+)(/[^?#]*)?", url, re.IGNORECASE)
    if match is None or match[1].lower() not in hosts:
        return None
    path = match[2] or "/"
    return f"https://{match[1].lower()}{path}", path


def _field(fields: list[tuple[str, str]], labels: tuple[str, ...]) -> str | None:
    return next((value for label, value in fields if _labelled(label, labels)), None)


def _labelled(label: str, labels: tuple[str, ...]) -> bool:
    return any(label == known or label.startswith(known + " ") for known in labels)
