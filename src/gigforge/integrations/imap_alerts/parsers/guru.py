"""Guru job alerts.

Guru's job pages live at https://www.guru.com/jobs/<slug>/<number>, the number being the id
Guru prints after each title ("Full-Stack Web Developer-React & Python (2117662)"). Guru
publishes no email format, so this parser expects:

- sent from guru.com or a subdomain of it;
- a subject naming job matches or a job alert ("Guru Job Matches: 2 new jobs",
  "New Job: <title>", "New Job Invitation: <title>");
- each job as a link to its page; a page without the number gets a hash of its URL as id;
- "Budget:" lines, or Guru's own terms "Fixed Price:" and "Hourly Rate:", in US dollars unless
  another currency is shown; optional "Category:" and "Skills:" lines.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat, parse_with

FORMAT = AlertFormat(
    platform="guru",
    name="Guru",
    sender_domains=("guru.com",),
    subject=re.compile(
        r"^new job(?: invitation)?:\s*(?P<title>.+)$|\bjob (?:matches|alerts?)\b",
        re.IGNORECASE,
    ),
    hosts=frozenset({"www.guru.com", "guru.com"}),
    job_link=re.compile(r"^/jobs/[A-Za-z0-9._~%-]+(?:/(?P<id>\d+))?/?$"),
    budget_labels=("budget", "fixed price", "hourly rate", "hourly"),
    skills_labels=("skills",),
    category_labels=("category",),
    currency="USD",
)


def parse_guru(message: EmailMessage) -> list[JobPosting]:
    return parse_with(FORMAT, message)
