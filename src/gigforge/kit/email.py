"""Outgoing email: one small interface, a file outbox for development and SMTP for real mail.

Bodies carry single-use links (password resets, invitations), so neither logs nor errors ever
include them, and SMTP failures never echo the server's reply text, which may quote credentials.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from dataclasses import dataclass
from email.message import EmailMessage as MIMEMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib
import structlog
from pydantic import SecretStr

from gigforge.kit.clock import utcnow
from gigforge.kit.errors import GigforgeError
from gigforge.settings import Settings

SMTPSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str
    html: str | None = None


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class EmailDeliveryError(GigforgeError):
    status_code = 502
    code = "email-delivery-failed"
    title = "The email could not be sent"


def _to_mime(message: EmailMessage, sender: str) -> MIMEMessage:
    # An explicit domain keeps make_msgid from a reverse DNS lookup of this host.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "gigforge.invalid"
    mime = MIMEMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(utcnow())
    mime["Message-ID"] = make_msgid(domain=domain)
    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    return mime


class OutboxEmailSender:
    """Writes each message as an .eml file instead of sending it, for development and tests."""

    def __init__(self, outbox_dir: Path, sender: str) -> None:
        self.outbox_dir = outbox_dir
        self.sender = sender

    async def send(self, message: EmailMessage) -> None:
        mime = _to_mime(message, self.sender)
        path = await asyncio.to_thread(self._write, mime.as_bytes())
        structlog.get_logger("gigforge.email").info(
            "email.written_to_outbox", path=str(path), subject=message.subject
        )

    def _write(self, content: bytes) -> Path:
        self.outbox_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.eml"
        target = self.outbox_dir / name
        # mkstemp creates the file as 0600; the rename makes it appear whole or not at all.
        fd, temp_name = tempfile.mkstemp(dir=self.outbox_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return target


class SMTPEmailSender:
    """Sends through an SMTP relay, opening one connection per message."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: SecretStr | None = None,
        security: SMTPSecurity = "starttls",
        timeout_seconds: float = 10.0,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("SMTP username and password must be set together")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.security: SMTPSecurity = security
        self.timeout_seconds = timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        mime = _to_mime(message, self.sender)
        try:
            await aiosmtplib.send(
                mime,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password.get_secret_value() if self.password else None,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                timeout=self.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._delivery_error(exc) from None
        structlog.get_logger("gigforge.email").info(
            "email.sent", host=self.host, port=self.port, subject=message.subject
        )

    def _delivery_error(self, exc: Exception) -> EmailDeliveryError:
        reply_code = exc.code if isinstance(exc, aiosmtplib.SMTPResponseException) else None
        if isinstance(exc, TimeoutError):
            reason = "timed out"
        elif reply_code is not None:
            reason = f"server replied {reply_code}"
        elif isinstance(exc, aiosmtplib.SMTPConnectError | ConnectionRefusedError):
            reason = "could not connect"
        elif isinstance(exc, ConnectionError):
            reason = "connection lost"
        else:
            reason = f"{type(exc).__name__} during the SMTP exchange"
        return EmailDeliveryError(
            f"Sending email through {self.host}:{self.port} failed: {reason}",
            smtp_reply_code=reply_code,
        )


def email_sender_from_settings(settings: Settings) -> EmailSender:
    if settings.email_backend == "smtp":
        return SMTPEmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            security=settings.smtp_security,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    return OutboxEmailSender(settings.data_dir / "outbox", settings.email_from)
