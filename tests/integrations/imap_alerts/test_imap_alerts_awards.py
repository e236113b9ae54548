"""The platforms' "you won" emails read as awards: pure parsing of realistic fixtures, then a
scan of a real IMAP folder (dovecot on loopback) with its own cursor."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from imap_alerts_support import Folder, fixture_mail

from gigforge.integrations.framework import NotSupported
from gigforge.integrations.framework.capabilities import Winning
from gigforge.integrations.imap_alerts import IMAPAlertsConfig, IMAPAlertsConnector
from gigforge.integrations.imap_alerts.parsers import (
    MalformedAlert,
    NotAnAlert,
    parse_alert,
    parse_award,
    parse_message,
)

Settings = Callable[..., IMAPAlertsConfig]
Connectors = Callable[[IMAPAlertsConfig], IMAPAlertsConnector]

AWARD_FIXTURES = (
    "fiverr_new_order.eml",
    "peopleperhour_proposal_accepted.eml",
    "guru_job_awarded.eml",
)


def test_a_fiverr_new_order_is_accepted_work_with_its_order_id() -> None:
    award = parse_award(parse_message(fixture_mail("fiverr_new_order.eml")))

    assert award.platform == "fiverr"
    assert award.external_bid_id == award.external_project_id == "FO7C21A9B3E4"
    assert award.status == "accepted"
    assert (award.amount_minor, award.currency) == (12_000, "USD")
    assert award.client_name == "northwind_media"
    assert award.title == "I will animate your logo with sound design"
    # The order page without the email's tracking parameters.
    assert award.url == "https://www.fiverr.com/orders/FO7C21A9B3E4"
    assert award.awarded_at == datetime(2026, 3, 6, 10, 41, 27, tzinfo=UTC)
    assert award.raw["message_id"] == "<order-FO7C21A9B3E4.20260306104127@e.fiverr.com>"


def test_a_peopleperhour_acceptance_from_base64_html() -> None:
    award = parse_award(parse_message(fixture_mail("peopleperhour_proposal_accepted.eml")))

    assert (award.platform, award.status) == ("peopleperhour", "accepted")
    assert award.external_project_id == "4517558"
    assert award.title == "Need my header making more responsive"
    assert award.client_name == "Lumen Studio"
    assert (award.amount_minor, award.currency) == (18_000, "GBP")


def test_a_guru_award_waits_for_the_users_acceptance_on_guru() -> None:
    award = parse_award(parse_message(fixture_mail("guru_job_awarded.eml")))

    assert (award.platform, award.status) == ("guru", "awarded")
    assert award.external_project_id == "2117662"
    assert award.title == "Full-Stack Web Developer - React & Python"
    assert award.client_name == "Kite Retail"
    assert (award.amount_minor, award.currency) == (180_000, "USD")
    assert award.url == "https://www.guru.com/jobs/full-stack-web-developer-react-python/2117662"
    assert award.awarded_at == datetime(2026, 3, 9, 14, 15, tzinfo=UTC)


@pytest.mark.parametrize("name", AWARD_FIXTURES)
def test_award_mail_is_never_mistaken_for_a_job_alert(name: str) -> None:
    with pytest.raises(NotAnAlert):
        parse_alert(parse_message(fixture_mail(name)))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("fiverr_brief.eml", "not_an_award"),
        ("guru_job_matches.eml", "not_an_award"),
        ("toptal_job.eml", "unknown_sender"),
    ],
)
def test_job_alerts_and_other_senders_are_no_awards(name: str, reason: str) -> None:
    with pytest.raises(NotAnAlert) as skipped:
        parse_award(parse_message(fixture_mail(name)))
    assert skipped.value.reason == reason


@pytest.mark.parametrize(
    "subject",
    [
        "You\u2019ve got a new order from northwind_media",
        "You have received an order from northwind_media",
    ],
)
def test_fiverr_order_subjects_with_typographic_apostrophes_or_other_wording(
    subject: str,
) -> None:
    raw = fixture_mail("fiverr_new_order.eml").replace(
        b"Subject: You've got a new order from northwind_media",
        f"Subject: {subject}".encode(),
    )

    award = parse_award(parse_message(raw))

    assert (award.external_project_id, award.client_name) == ("FO7C21A9B3E4", "northwind_media")


def test_an_award_without_a_project_link_is_malformed() -> None:
    raw = (
        b"From: Guru <noreply@guru.com>\r\nSubject: You have been awarded a job\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Congratulations! See your WorkRoom: https://www.guru.com/workroom/1\r\n"
    )

    with pytest.raises(MalformedAlert) as malformed:
        parse_award(parse_message(raw))
    assert (malformed.value.reason, malformed.value.platform) == ("no_project_link", "guru")


def test_the_connector_offers_winning_but_not_accepting() -> None:
    assert issubclass(IMAPAlertsConnector, Winning)


async def test_accepting_an_emailed_award_is_not_supported(
    settings: Settings, connector_for: Connectors
) -> None:
    with pytest.raises(NotSupported, match="accepts it on the platform"):
        await connector_for(settings()).accept_award("2117662")


async def test_a_scan_finds_awards_among_alerts_and_resumes_after_its_cursor(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(
        fixture_mail("fiverr_brief.eml"),
        fixture_mail("fiverr_new_order.eml"),
        fixture_mail("guru_job_matches.eml"),
        fixture_mail("peopleperhour_proposal_accepted.eml"),
    )
    connector = connector_for(settings())

    awards, cursor = await connector.awards()
    assert [(a.platform, a.external_project_id) for a in awards] == [
        ("fiverr", "FO7C21A9B3E4"),
        ("peopleperhour", "4517558"),
    ]
    assert awards[0].raw["folder"] == folder.name
    assert cursor is not None
    assert cursor.endswith(":4")

    assert await connector.awards(cursor) == ([], cursor)

    await folder.deliver(fixture_mail("guru_job_awarded.eml"))
    [guru], later = await connector.awards(cursor)
    assert (guru.platform, guru.status) == ("guru", "awarded")
    assert later is not None
    assert later.endswith(":5")


async def test_award_scans_leave_the_job_alert_cursor_alone(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("fiverr_new_order.eml"), fixture_mail("fiverr_brief.eml"))
    connector = connector_for(settings())

    await connector.awards()
    postings = [posting async for posting in connector.listings()]

    assert [p.external_id for p in postings] == ["a7c2e91f0b"]


async def test_an_empty_folder_yields_no_awards_and_keeps_the_cursor(
    settings: Settings, connector_for: Connectors
) -> None:
    assert await connector_for(settings()).awards() == ([], None)
