"""Toptal job opportunities.

Toptal talent find work on https://www.toptal.com/platform/talent/jobs, where each job shows
its commitment, time zone and "Required skills" (as public tools reading that board show), and
Toptal emails new opportunities to its talent. Toptal jobs state no budget, since talent set
their own rate, so a Toptal listing's budget is always empty. Toptal publishes no email
format, so this parser expects:

- sent from toptal.com or a subdomain of it;
- a subject "New job opportunity: <title>", or one naming job opportunities or
  recommendations;
- a link to the job, https://www.toptal.com/platform/talent/jobs/<id>;
- "Required skills:" and optionally "Specialization:" lines; other lines (commitment, time
  zone) stay in the description.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat, parse_with

FORMAT = AlertFormat(
    platform="toptal",
    name="Toptal",
    sender_domains=("toptal.com",),
    subject=re.compile(
        r"^new job(?: opportunity)?:\s*(?P<title>.+)$"
        r"|\bjob (?:opportunit(?:y|ies)|recommendations?)\b",
        re.IGNORECASE,
    ),
    hosts=frozenset({"www.toptal.com", "toptal.com"}),
    job_link=re.compile(r"^/platform/talent/jobs/(?P<id>[A-Za-z0-9_-]+)/?$"),
    budget_labels=(),
    skills_labels=("required skills", "skills"),
    category_labels=("specialization", "category"),
    currency=None,
)


def parse_toptal(message: EmailMessage) -> list[JobPosting]:
    return parse_with(FORMAT, message)
