"""Kwork project notifications (kwork.ru, and kwork.com for the international site).

Public monitors of these emails (PortfelOnline/personal's `kwork_monitor`, among others) read
them from news@kwork.ru and noreply@kwork.ru, with subjects like "Новый проект: <title>",
project links https://kwork.ru/projects/<id>, and budgets such as "Бюджет: 10 000 ₽"; digests
list one link per project and may link https://kwork.ru/new_offer?offer=<n> instead. This
parser expects:

- sent from kwork.ru or kwork.com, or a subdomain of either;
- a subject announcing a new project or new projects (Russian or English);
- each project as a link to its page; a `new_offer` link's number is not documented to be the
  project's id, so such a listing's id is a hash of its URL;
- budget lines labelled "Бюджет", or the desired and allowed budgets Kwork's project pages
  show ("Желаемый бюджет: до 10 000 ₽", "Допустимый: до 30 000 ₽"), read together as one
  range; roubles unless another currency is shown;
- optional "Рубрика:" or "Категория:" lines.

Russian mail often arrives in windows-1251 or KOI8-R; the email package decodes each part from
its declared charset, headers included.
"""

from __future__ import annotations

import re
from email.message import EmailMessage

from gigforge.integrations.framework.capabilities import JobPosting
from gigforge.integrations.imap_alerts.parsers._format import AlertFormat, parse_with

FORMAT = AlertFormat(
    platform="kwork",
    name="Kwork",
    sender_domains=("kwork.ru", "kwork.com"),
    subject=re.compile(
        r"^(?:новый проект|new project):\s*(?P<title>.+)$"
        r"|нов\w* (?:проект|заказ)|\bnew projects?\b",
        re.IGNORECASE,
    ),
    hosts=frozenset({"kwork.ru", "www.kwork.ru", "kwork.com", "www.kwork.com"}),
    job_link=re.compile(r"^/projects/(?P<id>\d+)/?$|^/new_offer\?(?:[^#]*&)?offer=\d+$"),
    budget_labels=("бюджет", "желаемый бюджет", "допустимый", "цена", "budget", "price"),
    skills_labels=("навыки", "skills"),
    category_labels=("рубрика", "категория", "category"),
    currency="RUB",
)


def parse_kwork(message: EmailMessage) -> list[JobPosting]:
    return parse_with(FORMAT, message)
