"""One IMAP conversation with one folder, over the standard library's `imaplib`.

imaplib blocks, so each exchange runs in a worker thread (`asyncio.to_thread`); a session is
used by one task at a time, which is all imaplib asks. Failures are classified here, once: a
refused login is `AuthExpired`, an unreachable server or a dropped connection `Transient`,
and what a retry cannot mend (an untrusted certificate, a missing folder, no STARTTLS) is
`Permanent`. Errors quote at most the bracketed response code of a server reply (RFC 3501
section 7.1), never the reply itself, and the password is only ever handed to imaplib.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from gigforge.integrations.framework.errors import (
    AuthExpired,
    Permanent,
    Transient,
)
from gigforge.integrations.framework.transport import DestinationNotAllowed
from gigforge.integrations.imap_alerts.spec import CURSOR_RE, SPEC, IMAPAlertsConfig, is_loopback
from gigforge.kit.ssrf import (
    REFUSED_DETAIL,
    AddressGuard,
    DestinationRefused,
    HostUnreachable,
    IPAddress,
)

# Response codes that say "not now" rather than "never" (RFC 5530).
TRANSIENT_CODES = frozenset({"UNAVAILABLE", "INUSE", "LIMIT", "SERVERBUG"})
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_RESPONSE_CODE = re.compile(r"^\s*\[([A-Z0-9-]+)")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(
    rb'\bINTERNALDATE "\s?(\d{1,2})-([A-Za-z]{3})-(\d{4}) '
    rb'(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})"'
)


@dataclass(frozen=True, order=True)
class MailboxCursor:
    """A message's place in a folder; meaningless once the folder's UIDVALIDITY changes."""

    uidvalidity: int
    uid: int

    @classmethod
    def parse(cls, text: str) -> MailboxCursor:
        if not CURSOR_RE.match(text):
            raise ValueError(f"{text!r} is not a cursor of the form UIDVALIDITY:UID")
        validity, _, uid = text.partition(":")
        return cls(int(validity), int(uid))

    def __str__(self) -> str:
        return f"{self.uidvalidity}:{self.uid}"


@dataclass(frozen=True)
class MessageInfo:
    uid: int
    size: int | None
    arrived: datetime | None


def mailbox_name(folder: str) -> str:
    """The folder as an IMAP astring: modified UTF-7 (RFC 3501 section 5.1.3), then quoted,
    because imaplib sends mailbox names exactly as given."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            encoded.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return quote("".join(encoded))


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_set(uids: Iterable[int]) -> str:
    """`1:3,7,9:10`: consecutive UIDs as ranges, so a long catch-up is one short command."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = previous = ordered[0]
    for uid in ordered[1:]:
        if uid != previous + 1:
            ranges.append(f"{start}:{previous}" if previous != start else str(start))
            start = uid
        previous = uid
    ranges.append(f"{start}:{previous}" if previous != start else str(start))
    return ",".join(ranges)


def search_date(moment: datetime) -> str:
    """An IMAP `date` (RFC 3501 section 9), spelt without the locale-dependent `%b`."""
    return f"{moment.day}-{MONTHS[moment.month - 1]}-{moment.year}"


def response_code(exc: BaseException | bytes | str) -> str | None:
    value: object = exc.args[0] if isinstance(exc, BaseException) and exc.args else exc
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    match = _RESPONSE_CODE.match(text)
    return match[1] if match else None


def _with_code(code: str | None) -> str:
    return f" ({code})" if code else ""


class MailboxSession:
    """An authenticated session with the folder selected (or EXAMINEd when read-only)."""

    def __init__(
        self, imap: imaplib.IMAP4, *, host: str, folder: str, uidvalidity: int, exists: int
    ) -> None:
        self._imap = imap
        self.host = host
        self.folder = folder
        self.uidvalidity = uidvalidity
        self.exists = exists

    async def search(self, *criteria: str) -> list[int]:
        data = await self._run("searching", lambda: self._imap.uid("SEARCH", *criteria))
        found: list[int] = []
        for line in data:
            if isinstance(line, bytes):
                found.extend(int(token) for token in line.split() if token.isdigit())
        return sorted(found)

    async def describe(self, uids: Sequence[int]) -> dict[int, MessageInfo]:
        """Size and arrival time of each message, without reading any of it."""
        data = await self._run(
            "listing messages",
            lambda: self._imap.uid("FETCH", uid_set(uids), "(UID RFC822.SIZE INTERNALDATE)"),
        )
        described: dict[int, MessageInfo] = {}
        for line in data:
            if not isinstance(line, bytes) or not (uid := _UID.search(line)):
                continue
            size = _SIZE.search(line)
            described[int(uid[1])] = MessageInfo(
                uid=int(uid[1]), size=int(size[1]) if size else None, arrived=_arrival(line)
            )
        return described

    async def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        """Whole messages by UID. BODY.PEEK leaves the \\Seen flag as it was."""
        data = await self._run(
            "reading messages",
            lambda: self._imap.uid("FETCH", uid_set(uids), "(UID BODY.PEEK[])"),
        )
        found: dict[int, bytes] = {}
        for index, item in enumerate(data):
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes)):
                continue
            header = item[0] if isinstance(item[0], bytes) else b""
            # Some servers send the UID after the literal, in the next line of the answer.
            trailer = data[index + 1] if index + 1 < len(data) else b""
            uid = _UID.search(header) or (
                _UID.search(trailer) if isinstance(trailer, bytes) else None
            )
            if uid:
                found[int(uid[1])] = item[1]
        return found

    async def mark_seen(self, uids: Sequence[int]) -> None:
        await self._run(
            "marking alerts read",
            lambda: self._imap.uid("STORE", uid_set(uids), "+FLAGS.SILENT", "(\\Seen)"),
        )

    async def close(self) -> None:
        def logout() -> None:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                self._imap.logout()

        await asyncio.to_thread(logout)

    async def _run(self, doing: str, command: Callable[[], tuple[str, list[Any]]]) -> list[Any]:
        return await asyncio.to_thread(self._checked, doing, command)

    def _checked(self, doing: str, command: Callable[[], tuple[str, list[Any]]]) -> list[Any]:
        try:
            status, data = command()
        except (imaplib.IMAP4.abort, OSError):
            raise Transient(
                f"The connection to {self.host} dropped while {doing}", integration=SPEC.slug
            ) from None
        except imaplib.IMAP4.error as exc:
            raise Permanent(
                f"{self.host} rejected the command while {doing}{_with_code(response_code(exc))}",
                integration=SPEC.slug,
            ) from None
        if status != "OK":
            code = response_code(data[-1]) if data and isinstance(data[-1], bytes | str) else None
            kind = Transient if code in TRANSIENT_CODES else Permanent
            raise kind(f"{self.host} refused {doing}{_with_code(code)}", integration=SPEC.slug)
        return data


async def open_mailbox(
    config: IMAPAlertsConfig, *, password: str, writable: bool, guard: AddressGuard
) -> MailboxSession:
    """Connect, secure, log in and select `config.folder`; EXAMINE (read-only) unless writable.

    The host passes the SSRF guard first, and the socket goes to an address it checked, so a
    user cannot point the server at a private or local port (or probe one) by naming it."""
    if config.security == "none" and not is_loopback(config.host):
        raise Permanent(
            f"Refusing to send the password to {config.host} unencrypted; use tls or starttls",
            integration=SPEC.slug,
        )
    addresses = await _checked_addresses(config, guard)
    return await asyncio.to_thread(_open, config, password, writable, addresses)


async def _checked_addresses(
    config: IMAPAlertsConfig, guard: AddressGuard
) -> tuple[IPAddress, ...]:
    try:
        async with asyncio.timeout(config.timeout_seconds):
            return await guard.addresses_for(config.host, config.effective_port)
    except DestinationRefused:
        raise DestinationNotAllowed(
            f"{SPEC.title}: {REFUSED_DETAIL}", integration=SPEC.slug
        ) from None
    except (HostUnreachable, TimeoutError):
        raise Transient(_unreachable(config.host), integration=SPEC.slug) from None


def _unreachable(host: str) -> str:
    # The same words for a refused, silent or unknown server: no port-state oracle.
    return f"Could not connect to {host}"


class _PinnedIMAP4(imaplib.IMAP4):
    """IMAP4 connecting to an address the guard checked, while `host` stays the name (for
    STARTTLS's SNI and certificate check)."""

    def __init__(
        self, host: str, port: int, *, addresses: Sequence[IPAddress], timeout: float
    ) -> None:
        self._addresses = tuple(addresses)
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return _connect_pinned(self._addresses, self.port, timeout)


class _PinnedIMAP4_SSL(imaplib.IMAP4_SSL):
    def __init__(
        self,
        host: str,
        port: int,
        *,
        addresses: Sequence[IPAddress],
        ssl_context: ssl.SSLContext,
        timeout: float,
    ) -> None:
        self._addresses = tuple(addresses)
        self._tls = ssl_context
        super().__init__(host, port, ssl_context=ssl_context, timeout=timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        plain = _connect_pinned(self._addresses, self.port, timeout)
        return self._tls.wrap_socket(plain, server_hostname=self.host)


def _connect_pinned(
    addresses: Sequence[IPAddress], port: int, timeout: float | None
) -> socket.socket:
    for address in addresses[:-1]:
        try:
            return socket.create_connection((str(address), port), timeout)
        except OSError:
            continue
    return socket.create_connection((str(addresses[-1]), port), timeout)


def _open(
    config: IMAPAlertsConfig, password: str, writable: bool, addresses: Sequence[IPAddress]
) -> MailboxSession:
    imap = _connect(config, addresses)
    try:
        _login(imap, config.host, config.username, password)
        return _select(imap, config.host, config.folder, writable)
    except BaseException:
        with contextlib.suppress(OSError):
            imap.shutdown()
        raise


def _connect(config: IMAPAlertsConfig, addresses: Sequence[IPAddress]) -> imaplib.IMAP4:
    host, port = config.host, config.effective_port
    context = ssl.create_default_context()
    try:
        if config.security == "tls":
            return _PinnedIMAP4_SSL(
                host,
                port,
                addresses=addresses,
                ssl_context=context,
                timeout=config.timeout_seconds,
            )
        imap = _PinnedIMAP4(host, port, addresses=addresses, timeout=config.timeout_seconds)
        if config.security == "starttls":
            _starttls(imap, host, context)
        return imap
    except ssl.SSLCertVerificationError as exc:
        raise Permanent(
            f"The certificate of {host}:{port} is not trusted ({exc.verify_message})",
            integration=SPEC.slug,
        ) from None
    except (OSError, imaplib.IMAP4.error):
        raise Transient(_unreachable(host), integration=SPEC.slug) from None


def _starttls(imap: imaplib.IMAP4, host: str, context: ssl.SSLContext) -> None:
    if "STARTTLS" not in imap.capabilities:
        imap.shutdown()
        raise Permanent(f"{host} does not offer STARTTLS; use tls", integration=SPEC.slug)
    try:
        imap.starttls(ssl_context=context)
    except BaseException:
        with contextlib.suppress(OSError):
            imap.shutdown()
        raise


def _login(imap: imaplib.IMAP4, host: str, username: str, password: str) -> None:
    if "LOGINDISABLED" in imap.capabilities:
        raise Permanent(
            f"{host} refuses passwords on an unencrypted connection; use tls or starttls",
            integration=SPEC.slug,
        )
    try:
        if "AUTH=PLAIN" in imap.capabilities:
            # SASL PLAIN (RFC 4616) carries any UTF-8 username and password; LOGIN only ASCII.
            response = b"\0" + username.encode() + b"\0" + password.encode()
            imap.authenticate("PLAIN", lambda _challenge: response)
        else:
            imap.login(quote(username), password)
    except imaplib.IMAP4.abort:
        raise Transient(
            f"{host} dropped the connection during login", integration=SPEC.slug
        ) from None
    except imaplib.IMAP4.error as exc:
        code = response_code(exc)
        if code in TRANSIENT_CODES:
            raise Transient(f"{host} cannot log in now ({code})", integration=SPEC.slug) from None
        raise AuthExpired(
            f"{host} refused the login{_with_code(code)}", integration=SPEC.slug
        ) from None
    except UnicodeEncodeError:
        raise Permanent(
            f"{host} only offers LOGIN, which carries ASCII usernames and passwords only",
            integration=SPEC.slug,
        ) from None
    except OSError:
        raise Transient(
            f"The connection to {host} dropped during login", integration=SPEC.slug
        ) from None


def _select(imap: imaplib.IMAP4, host: str, folder: str, writable: bool) -> MailboxSession:
    try:
        status, data = imap.select(mailbox_name(folder), readonly=not writable)
    except imaplib.IMAP4.readonly:
        raise Permanent(
            f"The folder {folder!r} is read-only on {host}; turn off mark_read",
            integration=SPEC.slug,
        ) from None
    except (imaplib.IMAP4.abort, OSError):
        raise Transient(f"The connection to {host} dropped", integration=SPEC.slug) from None
    if status != "OK":
        code = response_code(data[-1]) if data and isinstance(data[-1], bytes) else None
        raise Permanent(
            f"The folder {folder!r} cannot be opened on {host}{_with_code(code)}",
            integration=SPEC.slug,
        )
    exists = int(data[0]) if data and data[0] else 0
    return MailboxSession(
        imap, host=host, folder=folder, uidvalidity=_uidvalidity(imap), exists=exists
    )


def _uidvalidity(imap: imaplib.IMAP4) -> int:
    _, values = imap.response("UIDVALIDITY")
    value = values[0] if values else None
    if isinstance(value, bytes) and value.strip().isdigit():
        return int(value)
    raise Permanent("The server announced no UIDVALIDITY for the folder", integration=SPEC.slug)


def _arrival(line: bytes) -> datetime | None:
    match = _INTERNALDATE.search(line)
    if not match:
        return None
    day, month, year, hour, minute, second, sign, off_hours, off_minutes = (
        part.decode() for part in match.groups()
    )
    if month.title() not in MONTHS:
        return None
    offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
    zone = timezone(-offset if sign == "-" else offset)
    moment = datetime(
        int(year),
        MONTHS.index(month.title()) + 1,
        int(day),
        int(hour),
        int(minute),
        int(second),
        tzinfo=zone,
    )
    return moment.astimezone(UTC)
