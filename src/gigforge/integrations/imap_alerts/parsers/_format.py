"""The shape the five platforms' alerts share, as data, and the one function that reads it.

An alert is recognised by its sender's domain and its subject. Its jobs are found by their
links: only links to the platform's own job pages count (tracking redirects and other sites
never become a job URL), and each distinct job link starts one listing. A single-job alert is
one block; in a digest each job's block runs from its link, or the title line just above a
bare link, to the next job's. Inside a block, "Label: value" lines carry the budget, skills
and category; what remains, less links, greetings and the footer, is the description.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers._mail import (
    Alert,
    MalformedAlert,
    NotAnAlert,
    domain_matches,
    is_footer,
    is_greeting,
    label_value,
    links,
    parse_budget,
    read_alert,
    sender_domain,
    subject_of,
)
from gigforge.kit.sanitize import plain_text

SOURCE = "imap_alerts"
TITLE_LIMIT = 200
DESCRIPTION_LIMIT = 20_000
SKILL_LIMIT = 60
MAX_SKILLS = 30

# Link texts that name an action, not the job ("View brief", "Подробнее").
_ACTION_LABEL = re.compile(
    r"^(?:view|see|open|read|apply|send|submit|make|show|check|go to|more|details|"
    r"подробнее|посмотреть|открыть|откликнуться|предложить|перейти)\b",
    re.IGNORECASE,
)
_SKILL_SEPARATORS = re.compile(r"\s*[,;|·•]\s*")


@dataclass(frozen=True)
class AlertFormat:
    platform: str
    name: str
    sender_domains: tuple[str, ...]
    # Recognises an alert's subject; a group named `title` captures the job's title.
    subject: re.Pattern[str]
    hosts: frozenset[str]
    # Matched against a link's path (and `?query`); a group named `id` is the job's id.
    job_link: re.Pattern[str]
    budget_labels: tuple[str, ...]
    skills_labels: tuple[str, ...] = ("skills",)
    category_labels: tuple[str, ...] = ("category",)
    # For amounts written without one; None means such amounts are no budget at all.
    currency: str | None = None

    def job(self, url: str) -> tuple[str, str] | None:
        """(canonical URL, external id) when `url` points at one of this platform's jobs."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        host = (parts.hostname or "").lower()
        if parts.scheme.lower() not in {"http", "https"} or host not in self.hosts or port:
            return None
        query = urlencode(
            [
                (key, value)
                for key, value in parse_qsl(parts.query, keep_blank_values=True)
                if not key.lower().startswith("utm_")
            ]
        )
        match = self.job_link.match(parts.path + (f"?{query}" if query else ""))
        if not match:
            return None
        canonical = urlunsplit(("https", host, parts.path, query, ""))
        external_id = match.groupdict().get("id") or (
            "sha256-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
        )
        return canonical, external_id


@dataclass(frozen=True)
class _Block:
    url: str
    external_id: str
    label: str
    lines: tuple[str, ...]


def parse_with(alert_format: AlertFormat, message: EmailMessage) -> list[JobPosting]:
    platform = alert_format.platform
    if not domain_matches(sender_domain(message), alert_format.sender_domains):
        raise NotAnAlert("other_sender", f"not sent by {alert_format.name}", platform=platform)
    subject = alert_format.subject.search(subject_of(message))
    if subject is None:
        raise NotAnAlert(
            "not_an_alert", f"{alert_format.name} mail that is no job alert", platform=platform
        )
    try:
        alert = read_alert(message)
    except MalformedAlert as exc:
        raise MalformedAlert(exc.reason, exc.detail, platform=platform) from None
    blocks = max((_blocks(alert_format, lines) for lines in alert.renderings), key=len, default=[])
    if not blocks:
        raise MalformedAlert(
            "no_job_link", f"no {alert_format.name} job link in the alert", platform=platform
        )
    subject_title = subject.groupdict().get("title") if len(blocks) == 1 else None
    return [_posting(alert_format, alert, block, subject_title) for block in blocks]


def _blocks(alert_format: AlertFormat, lines: tuple[str, ...]) -> list[_Block]:
    starts: list[tuple[int, str, str, str]] = []
    seen: set[str] = set()
    for link in links(lines):
        job = alert_format.job(link.url)
        if job is None or job[0] in seen:
            continue
        seen.add(job[0])
        start, label = link.line, link.label
        above = lines[start - 1] if start > 0 else ""
        # Plain-text digests put the title on its own line above a bare link.
        if not label and above and not links((above,)) and label_value(above) is None:
            start, label = start - 1, above
        starts.append((start, job[0], job[1], label))
    if len(starts) == 1:
        _, url, external_id, label = starts[0]
        return [_Block(url, external_id, label, _body(lines))]
    blocks: list[_Block] = []
    for index, (start, url, external_id, label) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        blocks.append(_Block(url, external_id, label, _body(lines[start:end])))
    return blocks


def _body(lines: tuple[str, ...]) -> tuple[str, ...]:
    """The lines before the footer (unsubscribe links, settings, copyright)."""
    for index, line in enumerate(lines):
        if is_footer(line):
            return lines[:index]
    return lines


def _posting(
    alert_format: AlertFormat, alert: Alert, block: _Block, subject_title: str | None
) -> JobPosting:
    fields: list[tuple[str, str]] = []
    prose: list[str] = []
    for line in block.lines:
        pair = label_value(line)
        if pair is not None and _is_field(alert_format, pair[0]):
            fields.append(pair)
        elif not links((line,)) and not is_greeting(line) and line != alert.subject:
            prose.append(line)
    title = _title(block, subject_title, prose)
    if not title:
        raise MalformedAlert(
            "no_title", f"a {alert_format.name} job without a title", platform=alert_format.platform
        )
    description_lines = [line for line in prose if plain_text(line, limit=TITLE_LIMIT) != title]
    return JobPosting(
        platform=alert_format.platform,
        external_id=block.external_id,
        url=block.url,
        title=title,
        description=plain_text("\n".join(description_lines), limit=DESCRIPTION_LIMIT),
        skills=_skills(alert_format, fields),
        category=next(
            (
                plain_text(value, limit=120)
                for label, value in fields
                if _labelled(label, alert_format.category_labels)
            ),
            None,
        ),
        budget=parse_budget(
            [
                (label, value)
                for label, value in fields
                if _labelled(label, alert_format.budget_labels)
            ],
            default_currency=alert_format.currency,
        ),
        posted_at=alert.posted_at,
        raw={
            "source": SOURCE,
            "sender_domain": alert.sender_domain,
            "subject": alert.subject,
            "message_id": alert.message_id,
        },
    )


def _title(block: _Block, subject_title: str | None, prose: list[str]) -> str:
    """The subject's title for a single-job alert, else the job link's text when it names
    the job, else the first line of prose."""
    candidates = [subject_title or ""]
    if block.label and not _ACTION_LABEL.match(block.label):
        candidates.append(block.label)
    candidates.extend(prose[:1])
    for candidate in candidates:
        if title := plain_text(candidate, limit=TITLE_LIMIT):
            return title
    return ""


def _skills(alert_format: AlertFormat, fields: list[tuple[str, str]]) -> tuple[str, ...]:
    skills: list[str] = []
    for label, value in fields:
        if not _labelled(label, alert_format.skills_labels):
            continue
        for item in _SKILL_SEPARATORS.split(value):
            skill = plain_text(item, limit=SKILL_LIMIT)
            if skill and skill not in skills:
                skills.append(skill)
    return tuple(skills[:MAX_SKILLS])


def _is_field(alert_format: AlertFormat, label: str) -> bool:
    return any(
        _labelled(label, labels)
        for labels in (
            alert_format.budget_labels,
            alert_format.skills_labels,
            alert_format.category_labels,
        )
    )


def _labelled(label: str, labels: tuple[str, ...]) -> bool:
    return any(label == known or label.startswith(known + " ") for known in labels)
