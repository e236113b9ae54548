from __future__ import annotations

import re
import socket
import stat
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from structlog.testing import capture_logs

from gigforge.kit.email import (
    EmailDeliveryError,
    EmailMessage,
    OutboxEmailSender,
    SMTPEmailSender,
    email_sender_from_settings,
)
from gigforge.settings import Settings

SENDER = "Gigforge <no-reply@gigforge.test>"
RESET_LINK = "https://gigforge.test/reset?token=single-use-9f8e7d6c"
MESSAGE = EmailMessage(
    to="ada@example.com",
    subject="Reset your password",
    text=f"Open {RESET_LINK} within 30 minutes.",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class CollectingHandler:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_server() -> Iterator[tuple[CollectingHandler, int]]:
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def parse_eml(raw: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(raw)


def outbox_files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


async def test_outbox_writes_one_private_eml_file_the_email_parser_reads_back(
    tmp_path: Path,
) -> None:
    outbox = tmp_path / "outbox"

    await OutboxEmailSender(outbox, SENDER).send(MESSAGE)

    (eml,) = outbox_files(outbox)
    assert re.fullmatch(r"\d{8}T\d{12}-[0-9a-f]{32}\.eml", eml.name)
    assert stat.S_IMODE(eml.stat().st_mode) == 0o600
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    parsed = parse_eml(eml.read_bytes())
    assert parsed["To"] == "ada@example.com"
    assert parsed["From"] == SENDER
    assert parsed["Subject"] == "Reset your password"
    assert parsed["Date"] is not None
    assert parsed["Message-ID"].endswith("@gigforge.test>")
    assert parsed.get_body(("plain",)).get_content().rstrip("\n") == MESSAGE.text


async def test_outbox_keeps_the_html_alternative(tmp_path: Path) -> None:
    html_message = EmailMessage(
        to="ada@example.com", subject="Hi", text="Plain", html="<p>Rich</p>"
    )

    await OutboxEmailSender(tmp_path, SENDER).send(html_message)

    (eml,) = outbox_files(tmp_path)
    parsed = parse_eml(eml.read_bytes())
    assert parsed.get_body(("plain",)).get_content().rstrip("\n") == "Plain"
    assert parsed.get_body(("html",)).get_content().rstrip("\n") == "<p>Rich</p>"


async def test_outbox_logs_path_and_subject_but_never_the_body(tmp_path: Path) -> None:
    with capture_logs() as logs:
        await OutboxEmailSender(tmp_path, SENDER).send(MESSAGE)

    (eml,) = outbox_files(tmp_path)
    assert logs == [
        {
            "event": "email.written_to_outbox",
            "log_level": "info",
            "path": str(eml),
            "subject": "Reset your password",
        }
    ]
    assert RESET_LINK not in repr(logs)


async def test_smtp_delivers_the_message_to_the_server(
    smtp_server: tuple[CollectingHandler, int],
) -> None:
    handler, port = smtp_server
    sender = SMTPEmailSender(
        host="127.0.0.1", port=port, sender=SENDER, security="none", timeout_seconds=5
    )

    await sender.send(MESSAGE)

    (envelope,) = handler.envelopes
    assert envelope.mail_from == "no-reply@gigforge.test"
    assert envelope.rcpt_tos == ["ada@example.com"]
    received = parse_eml(envelope.original_content)
    assert received["Subject"] == "Reset your password"
    assert received.get_body(("plain",)).get_content().rstrip("\r\n") == MESSAGE.text


async def test_smtp_unreachable_port_raises_delivery_error() -> None:
    port = free_port()
    sender = SMTPEmailSender(
        host="127.0.0.1", port=port, sender=SENDER, security="none", timeout_seconds=1
    )

    with pytest.raises(EmailDeliveryError) as raised:
        await sender.send(MESSAGE)

    assert f"127.0.0.1:{port}" in str(raised.value)
    assert raised.value.status_code == 502
    assert raised.value.code == "email-delivery-failed"
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


async def test_smtp_server_that_never_greets_times_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        sender = SMTPEmailSender(
            host="127.0.0.1", port=port, sender=SENDER, security="none", timeout_seconds=0.5
        )

        with pytest.raises(EmailDeliveryError, match="timed out"):
            await sender.send(MESSAGE)


async def test_smtp_login_failure_never_reveals_the_password_or_body(
    smtp_server: tuple[CollectingHandler, int],
) -> None:
    handler, port = smtp_server
    password = "hunter2-correct-horse-battery"
    sender = SMTPEmailSender(
        host="127.0.0.1",
        port=port,
        sender=SENDER,
        username="mailer",
        password=SecretStr(password),
        security="none",
        timeout_seconds=5,
    )

    with pytest.raises(EmailDeliveryError) as raised:
        await sender.send(MESSAGE)

    assert password not in str(raised.value)
    assert password not in repr(raised.value.extensions)
    assert RESET_LINK not in str(raised.value)
    assert f"127.0.0.1:{port}" in str(raised.value)
    assert handler.envelopes == []


async def test_smtp_starttls_refuses_to_fall_back_to_plaintext(
    smtp_server: tuple[CollectingHandler, int],
) -> None:
    handler, port = smtp_server
    sender = SMTPEmailSender(
        host="127.0.0.1", port=port, sender=SENDER, security="starttls", timeout_seconds=5
    )

    with pytest.raises(EmailDeliveryError):
        await sender.send(MESSAGE)

    assert handler.envelopes == []


def test_smtp_sender_refuses_a_username_without_a_password() -> None:
    with pytest.raises(ValueError, match="together"):
        SMTPEmailSender(host="mail.test", port=587, sender=SENDER, username="mailer")


@pytest.mark.parametrize(
    ("backend", "expected"), [("outbox", OutboxEmailSender), ("smtp", SMTPEmailSender)]
)
def test_email_sender_from_settings_picks_the_configured_backend(
    tmp_path: Path, backend: str, expected: type
) -> None:
    settings = Settings(env="development", data_dir=tmp_path, email_backend=backend)

    assert isinstance(email_sender_from_settings(settings), expected)


def test_outbox_from_settings_writes_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(env="development", data_dir=tmp_path, email_backend="outbox")

    sender = email_sender_from_settings(settings)

    assert isinstance(sender, OutboxEmailSender)
    assert sender.outbox_dir == tmp_path / "outbox"
    assert sender.sender == settings.email_from


def test_smtp_from_settings_carries_the_connection_settings(tmp_path: Path) -> None:
    settings = Settings(
        env="development",
        data_dir=tmp_path,
        email_backend="smtp",
        smtp_host="mail.test",
        smtp_port=465,
        smtp_username="mailer",
        smtp_password=SecretStr("pw-from-settings"),
        smtp_security="tls",
        smtp_timeout_seconds=3.0,
    )

    sender = email_sender_from_settings(settings)

    assert isinstance(sender, SMTPEmailSender)
    assert (sender.host, sender.port, sender.security) == ("mail.test", 465, "tls")
    assert sender.username == "mailer"
    assert sender.password == SecretStr("pw-from-settings")
    assert sender.timeout_seconds == 3.0
