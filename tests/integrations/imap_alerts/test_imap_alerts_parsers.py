"""The alert parsers on realistic fixture emails: one per platform, plus the messages a scan
must skip. Pure functions: no server involved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from imap_alerts_support import fixture_mail

from gigforge.integrations.framework import Budget, BudgetKind
from gigforge.integrations.imap_alerts.parsers import (
    MalformedAlert,
    NotAnAlert,
    parse_alert,
    parse_fiverr,
    parse_guru,
    parse_kwork,
    parse_message,
    parse_peopleperhour,
    parse_toptal,
)
from gigforge.integrations.imap_alerts.parsers._mail import parse_budget


def _mail(headers: dict[str, str], body: str, content_type: str = "text/plain") -> bytes:
    lines = [f"{name}: {value}" for name, value in headers.items()]
    lines += ["MIME-Version: 1.0", f"Content-Type: {content_type}; charset=utf-8", "", body]
    return "\r\n".join(lines).encode()


def test_fiverr_brief_from_quoted_printable_html() -> None:
    [brief] = parse_fiverr(parse_message(fixture_mail("fiverr_brief.eml")))

    assert brief.platform == "fiverr"
    assert brief.title == "Animated logo sting for a podcast intro"
    # The brief's own link is the hand-off link, without the email's tracking parameters.
    assert brief.url == "https://www.fiverr.com/briefs/a7c2e91f0b"
    assert brief.external_id == "a7c2e91f0b"
    assert brief.budget == Budget(
        kind=BudgetKind.fixed, currency="USD", min_minor=15_000, max_minor=30_000
    )
    assert brief.category == "Video & Animation"
    assert brief.skills == ("Logo Animation", "After Effects", "Sound Design")
    assert brief.posted_at == datetime(2026, 3, 3, 14, 5, 9, tzinfo=UTC)
    assert "transparent background & a short sound cue" in brief.description
    for unwanted in ("<", "track()", "Not interested", "Hi alex_motion", "Notification"):
        assert unwanted not in brief.description


def test_guru_digest_yields_each_job_with_fixed_and_hourly_budgets() -> None:
    first, second = parse_guru(parse_message(fixture_mail("guru_job_matches.eml")))

    assert (first.title, first.external_id) == (
        "Full-Stack Web Developer - React & Python",
        "2117662",
    )
    assert first.url == "https://www.guru.com/jobs/full-stack-web-developer-react-python/2117662"
    assert first.budget == Budget(
        kind=BudgetKind.fixed, currency="USD", min_minor=100_000, max_minor=250_000
    )
    assert first.skills == ("React", "Python", "PostgreSQL")
    assert first.category == "Programming & Development"
    assert "WordPress" not in first.description
    assert (second.title, second.external_id) == ("WordPress site maintenance (ongoing)", "2117701")
    assert second.budget == Budget(
        kind=BudgetKind.hourly, currency="USD", min_minor=2_000, max_minor=3_500
    )
    assert second.description == (
        "Monthly updates, backups and small fixes for three WordPress sites."
    )
    # The Date header's -0500 offset, in UTC.
    assert first.posted_at == second.posted_at == datetime(2026, 3, 4, 13, 30, tzinfo=UTC)


def test_peopleperhour_digest_from_base64_html_keeps_each_projects_currency() -> None:
    header, shopify = parse_peopleperhour(parse_message(fixture_mail("peopleperhour_digest.eml")))

    assert header.title == "Need my header making more responsive"
    assert header.external_id == "4517558"
    assert header.url.endswith("/website-development/need-my-header-making-more-responsive-4517558")
    assert header.budget == Budget(
        kind=BudgetKind.fixed, currency="GBP", min_minor=2_000, max_minor=2_000
    )
    assert header.skills == ()
    assert shopify.external_id == "4519902"
    assert shopify.budget == Budget(
        kind=BudgetKind.hourly, currency="USD", min_minor=1_500, max_minor=1_500
    )
    assert shopify.skills == ("Shopify", "CSV")
    assert "unsubscribe" not in shopify.description.lower()


def test_toptal_job_has_skills_and_no_budget() -> None:
    [job] = parse_toptal(parse_message(fixture_mail("toptal_job.eml")))

    assert job.title == "Senior Python Engineer for a fintech data platform"
    assert job.url == "https://www.toptal.com/platform/talent/jobs/482913"
    assert job.external_id == "482913"
    assert job.budget is None
    assert job.skills == ("Python", "Django", "PostgreSQL", "AWS")
    assert job.category == "Back-end Development"
    assert "Commitment: Part-time" in job.description
    assert "View job" not in job.description


def test_kwork_digest_in_windows_1251_reads_desired_and_allowed_budget_as_a_range() -> None:
    message = parse_message(fixture_mail("kwork_projects.eml"))
    bot, parsing = parse_kwork(message)

    assert message["Subject"] == "Новые проекты на бирже Kwork"
    assert bot.title == "Telegram-бот для записи клиентов в салон"
    assert (bot.url, bot.external_id) == ("https://kwork.ru/projects/2645123", "2645123")
    assert bot.budget == Budget(
        kind=BudgetKind.fixed, currency="RUB", min_minor=1_000_000, max_minor=3_000_000
    )
    assert bot.category == "Разработка и IT"
    assert bot.description.startswith("Нужен бот")
    assert bot.description.endswith("выгрузкой в Google Таблицы.")
    assert parsing.url == "https://kwork.ru/new_offer?offer=2645200"
    assert parsing.budget == Budget(
        kind=BudgetKind.fixed, currency="RUB", min_minor=300_000, max_minor=300_000
    )


def test_a_link_without_an_id_gets_a_stable_hash_of_its_url() -> None:
    first = parse_kwork(parse_message(fixture_mail("kwork_projects.eml")))[1]
    again = parse_kwork(parse_message(fixture_mail("kwork_projects.eml")))[1]

    assert first.external_id.startswith("sha256-")
    assert first.external_id == again.external_id


def test_parse_alert_picks_the_parser_by_sender_domain() -> None:
    expected = {
        "fiverr_brief.eml": ["fiverr"],
        "guru_job_matches.eml": ["guru", "guru"],
        "peopleperhour_digest.eml": ["peopleperhour", "peopleperhour"],
        "toptal_job.eml": ["toptal"],
        "kwork_projects.eml": ["kwork", "kwork"],
    }
    for name, platforms in expected.items():
        postings = parse_alert(parse_message(fixture_mail(name)))
        assert [posting.platform for posting in postings] == platforms, name


def test_an_alert_without_a_job_link_is_malformed() -> None:
    with pytest.raises(MalformedAlert) as raised:
        parse_alert(parse_message(fixture_mail("malformed_alert.eml")))
    assert raised.value.platform == "guru"


def test_a_platforms_other_mail_is_not_an_alert() -> None:
    with pytest.raises(NotAnAlert) as raised:
        parse_alert(parse_message(fixture_mail("not_an_alert.eml")))
    assert (raised.value.platform, raised.value.reason) == ("fiverr", "not_an_alert")


def test_mail_from_anyone_else_is_not_an_alert() -> None:
    raw = _mail(
        {"From": "Medium Daily Digest <noreply@medium.com>", "Subject": "New jobs match you"},
        "https://www.fiverr.com/briefs/a7c2e91f0b",
    )
    with pytest.raises(NotAnAlert) as raised:
        parse_alert(parse_message(raw))
    assert raised.value.reason == "unknown_sender"


def test_only_the_platforms_own_job_pages_become_job_links() -> None:
    raw = _mail(
        {"From": "Fiverr <noreply@fiverr.com>", "Subject": "New Brief: Landing page"},
        "\n".join(
            [
                "Open: https://www.fiverr.com.evil.example/briefs/abc123",
                "Open: https://click.e.fiverr.com/?qs=abc123",
                "Open: https://www.fiverr.com:8443/briefs/abc123",
                "Open: https://www.fiverr.com/briefs/overview",
            ]
        ),
    )
    with pytest.raises(MalformedAlert) as raised:
        parse_fiverr(parse_message(raw))
    assert raised.value.reason == "no_job_link"


def test_an_alert_with_only_a_title_and_link_leaves_the_rest_empty() -> None:
    raw = _mail(
        {"From": "Toptal <talent@mail.toptal.com>", "Subject": "New job opportunity: Go expert"},
        "http://www.toptal.com/platform/talent/jobs/77?utm_medium=email",
    )
    [job] = parse_toptal(parse_message(raw))

    assert job.title == "Go expert"
    assert job.url == "https://www.toptal.com/platform/talent/jobs/77"
    assert (job.budget, job.skills, job.category, job.description) == (None, (), None, "")
    assert job.posted_at is None


def test_html_is_read_when_the_plain_part_lacks_the_job_links() -> None:
    raw = b"\r\n".join(
        [
            b"From: Kwork <noreply@kwork.ru>",
            "Subject: Новый проект: Лендинг для кофейни".encode(),
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/alternative; boundary="b"',
            b"",
            b"--b",
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            b"Open this message in a browser to see the project.",
            b"--b",
            b"Content-Type: text/html; charset=utf-8",
            b"",
            '<p>Бюджет: до 15 000 ₽</p><a href="https://kwork.ru/projects/99">Открыть</a>'.encode(),
            b"--b--",
        ]
    )
    [project] = parse_kwork(parse_message(raw))

    assert project.title == "Лендинг для кофейни"
    assert (project.url, project.external_id) == ("https://kwork.ru/projects/99", "99")
    assert project.budget == Budget(
        kind=BudgetKind.fixed, currency="RUB", min_minor=None, max_minor=1_500_000
    )


def test_an_undeclared_charset_does_not_stop_the_parser() -> None:
    raw = _mail(
        {"From": "Guru <noreply@guru.com>", "Subject": "New Job: Data entry"},
        "https://www.guru.com/jobs/data-entry/5550001",
        content_type="text/plain; charset=x-unknown-charset",
    ).replace(b"; charset=utf-8", b"")
    [job] = parse_guru(parse_message(raw))

    assert (job.title, job.external_id) == ("Data entry", "5550001")


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        ("$1,500", "USD", Budget(kind="fixed", currency="USD", min_minor=150000, max_minor=150000)),
        ("up to €300", None, Budget(kind="fixed", currency="EUR", max_minor=30000)),
        ("from £50/hr", None, Budget(kind="hourly", currency="GBP", min_minor=5000)),
        (
            "1 500,50 RUB",
            None,
            Budget(kind="fixed", currency="RUB", min_minor=150000, max_minor=150000),
        ),
        (
            "12.5 - 20.75 USD per hour",
            None,
            Budget(kind="hourly", currency="USD", min_minor=1250, max_minor=2075),
        ),
        ("Negotiable", "USD", None),
        ("250", None, None),
    ],
)
def test_budget_values(value: str, default: str | None, expected: Budget | None) -> None:
    assert parse_budget([("budget", value)], default_currency=default) == expected
