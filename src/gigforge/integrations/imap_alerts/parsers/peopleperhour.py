"""PeoplePerHour project alerts.

PeoplePerHour emails newly posted projects to the freelancers whose skills fit them
(https://support.peopleperhour.com/hc/en-us/articles/205217687) and sends saved-search
digests, which users' published mail filters know by the subject "New Jobs match your search
results". Project pages live at
https://www.peopleperhour.com/freelance-jobs/<category>/<subcategory>/<slug>-<id>. PPH
publishes no email format, so this parser expects:

- sent from peopleperhour.com or a subdomain of it;
- a subject saying jobs or projects match, or "New project: <title>";
- each project as a link to its page, the number after the last hyphen being its id;
- "Budget:", "Fixed price:" or "Hourly rate:" lines with the currency symbol PPH shows
  (£, $ or €; PPH prices in the viewer's currency, so an amount without one is no budget),
  and optional "Category:" and "Skills:" lines.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat, parse_with

FORMAT = AlertFormat(
    platform="peopleperhour",
    name="PeoplePerHour",
    sender_domains=("peopleperhour.com",),
    subject=re.compile(
        r"^new project:\s*(?P<title>.+)$|\b(?:jobs?|projects?)\b.*\bmatch", re.IGNORECASE
    ),
    hosts=frozenset({"www.peopleperhour.com", "peopleperhour.com"}),
    job_link=re.compile(r"^/freelance-jobs/(?:[^/?]+/)+[^/?]*?-(?P<id>\d+)/?$"),
    budget_labels=("budget", "fixed price", "hourly rate", "price"),
    skills_labels=("skills",),
    category_labels=("category",),
    currency=None,
)


def parse_peopleperhour(message: EmailMessage) -> list[JobPosting]:
    return parse_with(FORMAT, message)
