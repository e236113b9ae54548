"""Fiverr brief matches.

Fiverr replaced Buyer Requests with briefs that it matches to a few sellers, and delivers each
match "via email" besides the Briefs page (https://help-pro.fiverr.com/hc/en-us/articles/
28511727353873, https://help.fiverr.com/hc/en-us/articles/4415601609361). Fiverr publishes no
email format, so this follows what public parsers of these emails handle:

- sent from fiverr.com or a subdomain of it (e.g. e.fiverr.com);
- a subject that speaks of a brief, typically "New Brief: <title>";
- a link to the brief, https://www.fiverr.com/briefs/<id>, whose last segment is its id;
- "Budget: $250" or "Budget: $100 - $200" (US dollars unless another currency is shown),
  and optional "Category:" / "Subcategory:" and "Skills:" lines.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat, parse_with

FORMAT = AlertFormat(
    platform="fiverr",
    name="Fiverr",
    sender_domains=("fiverr.com",),
    subject=re.compile(r"^new brief:\s*(?P<title>.+)$|\bbriefs?\b", re.IGNORECASE),
    hosts=frozenset({"www.fiverr.com", "fiverr.com"}),
    job_link=re.compile(r"^/briefs/(?!overview\b)(?P<id>[A-Za-z0-9_-]{3,})/?$"),
    budget_labels=("budget",),
    skills_labels=("skills",),
    category_labels=("category", "subcategory"),
    currency="USD",
)


def parse_fiverr(message: EmailMessage) -> list[JobPosting]:
    return parse_with(FORMAT, message)
