"""The spec and config (the connect form), and the small IMAP encodings the mailbox relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from gigforge.integrations.framework import Capability, Registry
from gigforge.integrations.imap_alerts import SPEC, IMAPAlertsConfig, IMAPAlertsConnector
from gigforge.integrations.imap_alerts.mailbox import (
    MailboxCursor,
    mailbox_name,
    response_code,
    search_date,
    uid_set,
)


def _config(**overrides: object) -> IMAPAlertsConfig:
    values: dict[str, object] = {
        "host": "imap.example.com",
        "username": "me@example.com",
        "password": SecretStr("app-password"),
    }
    return IMAPAlertsConfig.model_validate({**values, **overrides})


def test_the_connect_form_hides_the_password_and_offers_the_folder() -> None:
    schema = SPEC.config_schema()

    assert schema["properties"]["password"]["writeOnly"] is True
    assert schema["properties"]["folder"]["default"] == "INBOX"
    assert set(schema["required"]) == {"host", "username", "password"}


def test_the_registry_offers_it_as_a_job_feed() -> None:
    registry = Registry([IMAPAlertsConnector])

    assert [spec.slug for spec in registry.with_capability(Capability.job_feed)] == ["imap_alerts"]
    assert registry.get("imap_alerts") is IMAPAlertsConnector


def test_tls_is_the_default_and_the_port_follows_the_security() -> None:
    assert (_config().security, _config().effective_port) == ("tls", 993)
    assert _config(security="starttls").effective_port == 143
    assert _config(port=1993).effective_port == 1993


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_cleartext_is_accepted_for_this_machine(host: str) -> None:
    assert _config(host=host, security="none").security == "none"


def test_cleartext_to_another_machine_is_rejected() -> None:
    with pytest.raises(ValidationError, match="only allowed to a server on localhost"):
        _config(security="none")


def test_a_start_cursor_must_look_like_one() -> None:
    assert _config(start_cursor="1700000000:42").start_cursor == "1700000000:42"
    with pytest.raises(ValidationError):
        _config(start_cursor="42")


def test_cursors_round_trip_and_order_by_uid() -> None:
    cursor = MailboxCursor.parse("1795345151:7")

    assert (cursor.uidvalidity, cursor.uid, str(cursor)) == (1795345151, 7, "1795345151:7")
    assert MailboxCursor(1, 2) < MailboxCursor(1, 10)
    with pytest.raises(ValueError, match="UIDVALIDITY:UID"):
        MailboxCursor.parse("7")


def test_folder_names_are_quoted_in_modified_utf7() -> None:
    assert mailbox_name("INBOX") == '"INBOX"'
    assert mailbox_name("Jobs & Gigs") == '"Jobs &- Gigs"'
    assert mailbox_name("Фриланс") == '"&BCQEQAQ4BDsEMAQ9BEE-"'
    assert mailbox_name('Say "hi"\\') == '"Say \\"hi\\"\\\\"'


def test_uid_sets_collapse_runs() -> None:
    assert uid_set([9, 1, 2, 3, 7, 10, 3]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"


def test_search_dates_do_not_depend_on_the_locale() -> None:
    assert search_date(datetime(2026, 3, 7, 23, 59, tzinfo=UTC)) == "7-Mar-2026"


def test_response_codes_are_read_from_server_replies() -> None:
    assert response_code(b"[AUTHENTICATIONFAILED] Authentication failed.") == "AUTHENTICATIONFAILED"
    assert response_code("[UNAVAILABLE] Try later") == "UNAVAILABLE"
    assert response_code(b"Mailbox doesn't exist") is None
