"""The connector against a real IMAP server (dovecot on loopback): incremental scans, cursors,
skipped mail, mark-read, and how failures map to the framework's errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from imap_alerts_support import PASSWORD, Dovecot, Folder, fixture_mail
from pydantic import SecretStr
from structlog.testing import capture_logs

from gigforge.integrations.framework import AuthExpired, JobPosting, Permanent, Transient
from gigforge.integrations.imap_alerts import IMAPAlertsConfig, IMAPAlertsConnector

Settings = Callable[..., IMAPAlertsConfig]
Connectors = Callable[[IMAPAlertsConfig], IMAPAlertsConnector]

PLATFORM_FIXTURES = (
    "fiverr_brief.eml",
    "guru_job_matches.eml",
    "peopleperhour_digest.eml",
    "toptal_job.eml",
    "kwork_projects.eml",
)


async def _scan(
    connector: IMAPAlertsConnector,
    *,
    since: datetime | None = None,
    cursor: str | None = None,
) -> list[JobPosting]:
    return [posting async for posting in connector.listings(since, cursor=cursor)]


async def test_test_logs_in_and_reports_the_folders_message_count(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("fiverr_brief.eml"), fixture_mail("toptal_job.eml"))

    details = await connector_for(settings()).test()

    assert details["folder"] == folder.name
    assert details["messages"] == 2
    assert details["uidvalidity"] > 0


async def test_every_platforms_alert_becomes_listings_in_mailbox_order(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(*(fixture_mail(name) for name in PLATFORM_FIXTURES))
    connector = connector_for(settings())

    postings = await _scan(connector)

    assert [(p.platform, p.external_id) for p in postings] == [
        ("fiverr", "a7c2e91f0b"),
        ("guru", "2117662"),
        ("guru", "2117701"),
        ("peopleperhour", "4517558"),
        ("peopleperhour", "4519902"),
        ("toptal", "482913"),
        ("kwork", "2645123"),
        ("kwork", postings[-1].external_id),
    ]
    validity = (await connector.test())["uidvalidity"]
    assert [p.cursor for p in postings] == [f"{validity}:{uid}" for uid in (1, 2, 2, 3, 3, 4, 5, 5)]
    assert postings[0].raw["uid"] == 1
    assert postings[0].raw["folder"] == folder.name
    assert postings[0].title == "Animated logo sting for a podcast intro"
    assert postings[-2].title == "Telegram-бот для записи клиентов в салон"
    assert connector.resume_cursor == f"{validity}:5"


async def test_a_second_scan_returns_only_messages_after_the_cursor(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("fiverr_brief.eml"), fixture_mail("toptal_job.eml"))
    first = await _scan(connector_for(settings()))
    await folder.deliver(fixture_mail("kwork_projects.eml"))

    # A new connector, as each scheduled scan gets, resumes from the stored cursor.
    later = await _scan(connector_for(settings()), cursor=first[-1].cursor)

    assert [p.platform for p in first] == ["fiverr", "toptal"]
    assert [p.platform for p in later] == ["kwork", "kwork"]


async def test_the_same_connector_continues_where_it_stopped(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("toptal_job.eml"))
    connector = connector_for(settings())
    assert len(await _scan(connector)) == 1

    assert await _scan(connector) == []
    await folder.deliver(fixture_mail("fiverr_brief.eml"))
    assert [p.platform for p in await _scan(connector)] == ["fiverr"]


async def test_a_start_cursor_in_the_config_skips_older_mail(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("toptal_job.eml"), fixture_mail("fiverr_brief.eml"))
    validity = (await connector_for(settings()).test())["uidvalidity"]

    postings = await _scan(connector_for(settings(start_cursor=f"{validity}:1")))

    assert [p.platform for p in postings] == ["fiverr"]


async def test_a_changed_uidvalidity_resets_the_cursor(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("toptal_job.eml"), fixture_mail("fiverr_brief.eml"))
    connector = connector_for(settings())
    old = await _scan(connector)
    await folder.rebuild()
    await folder.deliver(fixture_mail("guru_job_matches.eml"))

    with capture_logs() as logs:
        fresh = await _scan(connector, cursor=old[-1].cursor)

    # The old cursor names UID 2; in the rebuilt folder the only message is UID 1.
    assert [p.external_id for p in fresh] == ["2117662", "2117701"]
    assert fresh[0].cursor != old[0].cursor
    assert fresh[0].cursor is not None
    assert fresh[0].cursor.endswith(":1")
    assert any(log["event"] == "imap folder renumbered; reading it afresh" for log in logs)


async def test_malformed_and_non_alert_messages_are_skipped_with_a_warning(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    newsletter = (
        b"From: Weekly <news@example.com>\r\nSubject: Our news\r\n\r\nNothing about jobs.\r\n"
    )
    await folder.deliver(
        fixture_mail("malformed_alert.eml"),
        fixture_mail("not_an_alert.eml"),
        newsletter,
        b"\x00\xff not an email at all",
        fixture_mail("toptal_job.eml"),
    )
    connector = connector_for(settings())

    with capture_logs() as logs:
        postings = await _scan(connector)

    assert [p.platform for p in postings] == ["toptal"]
    skipped = [log for log in logs if log["event"] == "imap alert skipped"]
    assert [(log["uid"], log["reason"], log["log_level"]) for log in skipped] == [
        (1, "no_text", "warning"),
        (2, "not_an_alert", "warning"),
        (3, "unknown_sender", "warning"),
        (4, "unknown_sender", "warning"),
    ]
    assert skipped[0]["platform"] == "guru"
    assert skipped[1]["message_id"] == "<order-FO81C2A4@e.fiverr.com>"
    assert connector.resume_cursor is not None
    assert connector.resume_cursor.endswith(":5")


async def test_mail_is_left_unread_unless_mark_read_is_on(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("toptal_job.eml"), fixture_mail("not_an_alert.eml"))

    await _scan(connector_for(settings()))
    assert await folder.seen() == {1: False, 2: False}

    await _scan(connector_for(settings(mark_read=True)))
    # Only the alert that became a listing is marked; other mail stays as it was.
    assert await folder.seen() == {1: True, 2: False}


async def test_since_limits_a_scan_without_cursor_to_mail_that_arrived_after_it(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(fixture_mail("toptal_job.eml"))
    now = datetime.now(UTC)

    assert await _scan(connector_for(settings()), since=now + timedelta(hours=1)) == []
    recent = await _scan(connector_for(settings()), since=now - timedelta(hours=1))
    assert [p.platform for p in recent] == ["toptal"]


async def test_a_scan_reads_at_most_max_messages_per_scan(
    folder: Folder, settings: Settings, connector_for: Connectors
) -> None:
    await folder.deliver(
        fixture_mail("toptal_job.eml"),
        fixture_mail("fiverr_brief.eml"),
        fixture_mail("kwork_projects.eml"),
    )

    # Without a cursor a scan starts at the newest mail ...
    newest = await _scan(connector_for(settings(max_messages_per_scan=2)))
    assert [p.platform for p in newest] == ["fiverr", "kwork", "kwork"]

    # ... and with one it catches up in order, a page at a time.
    validity = (await connector_for(settings()).test())["uidvalidity"]
    connector = connector_for(settings(max_messages_per_scan=1, start_cursor=f"{validity}:0"))
    assert [p.platform for p in await _scan(connector)] == ["toptal"]
    assert [p.platform for p in await _scan(connector)] == ["fiverr"]


async def test_a_folder_with_a_non_ascii_name_is_read(
    dovecot: Dovecot, settings: Settings, connector_for: Connectors
) -> None:
    russian = Folder(dovecot, "Фриланс & заказы")
    russian.create()
    await russian.deliver(fixture_mail("kwork_projects.eml"))

    postings = await _scan(connector_for(settings(folder=russian.name)))

    assert [p.external_id for p in postings][:1] == ["2645123"]


async def test_a_wrong_password_is_auth_expired_and_never_quoted(
    settings: Settings, connector_for: Connectors
) -> None:
    wrong = "wrong-" + PASSWORD
    connector = connector_for(settings(password=wrong))

    with capture_logs() as logs, pytest.raises(AuthExpired) as raised:
        await connector.test()

    assert "refused the login" in raised.value.detail
    assert "AUTHENTICATIONFAILED" in raised.value.detail
    for text in (str(raised.value), repr(raised.value), repr(raised.value.extensions)):
        assert PASSWORD not in text
    assert raised.value.__cause__ is None
    assert PASSWORD not in repr(logs)


async def test_the_password_never_reaches_logs_or_postings(
    folder: Folder,
    settings: Settings,
    connector_for: Connectors,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await folder.deliver(fixture_mail("toptal_job.eml"), fixture_mail("not_an_alert.eml"))
    connector = connector_for(settings())

    with capture_logs() as logs:
        postings = await _scan(connector)
        details = await connector.test()

    assert logs
    captured = capsys.readouterr()
    for text in (repr(logs), repr(postings), repr(details), captured.out, captured.err):
        assert PASSWORD not in text
    assert PASSWORD not in repr(connector.config)


async def test_an_unreachable_server_is_transient_and_says_only_could_not_connect(
    settings: Settings, connector_for: Connectors
) -> None:
    with pytest.raises(Transient) as raised:
        await connector_for(settings(port=1)).test()
    # No errno, exception name or port: a closed port reads like a silent or unknown one.
    assert raised.value.detail == "Could not connect to 127.0.0.1"


async def test_a_missing_folder_is_permanent(settings: Settings, connector_for: Connectors) -> None:
    with pytest.raises(Permanent) as raised:
        await connector_for(settings(folder="No such folder")).test()
    assert "'No such folder' cannot be opened" in raised.value.detail


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_an_untrusted_certificate_is_refused(
    dovecot: Dovecot, settings: Settings, connector_for: Connectors, security: str
) -> None:
    port = dovecot.tls_port if security == "tls" else dovecot.port

    with pytest.raises(Permanent) as raised:
        await connector_for(settings(security=security, port=port)).test()

    assert raised.value.detail == (
        f"The certificate of 127.0.0.1:{port} is not trusted (self-signed certificate)"
    )


async def test_cleartext_is_refused_for_a_remote_server_even_from_stored_config(
    connector_for: Connectors,
) -> None:
    stored = IMAPAlertsConfig.model_construct(
        host="imap.example.com",
        security="none",
        username="u",
        password=SecretStr("p"),
        folder="INBOX",
    )

    with pytest.raises(Permanent) as raised:
        await connector_for(stored).test()
    assert "unencrypted" in raised.value.detail


async def test_a_config_without_its_password_asks_to_reconnect(
    connector_for: Connectors, dovecot: Dovecot
) -> None:
    # What `connections` builds today: the public fields only, the password left in the vault.
    public_only = IMAPAlertsConfig.model_construct(
        host=dovecot.host, port=dovecot.port, security="none", username="u", folder="INBOX"
    )

    with pytest.raises(AuthExpired):
        await connector_for(public_only).test()
