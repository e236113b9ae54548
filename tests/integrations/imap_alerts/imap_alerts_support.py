"""A real IMAP server for the connector's tests: Debian's dovecot (package `dovecot-imapd`),
started on loopback ports with everything it writes (config, state, sockets, logs, maildirs)
in a temp dir, so /etc and /var/run are never touched.

Dovecot refuses to run its login processes as root, so under root the server runs as the
`dovecot` system user the package creates, otherwise as the current user. It listens for plain
IMAP (which also offers STARTTLS) and for IMAPS, with a self-signed certificate that the
connector, which verifies certificates, must refuse. Mail is delivered with IMAP APPEND.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gigforge.integrations.imap_alerts.mailbox import mailbox_name

FIXTURES = Path(__file__).parent / "fixtures"
DOVECOT = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
USERNAME = "alerts@example.test"
PASSWORD = "planted-imap-password-7d41c9"
STARTUP_SECONDS = 20.0


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    tls_port: int

    def login(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        imap.login(USERNAME, PASSWORD)
        return imap


def fixture_mail(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> tuple[str, int, str, int]:
    user = pwd.getpwuid(os.getuid())
    if os.geteuid() == 0:
        user = pwd.getpwnam("dovecot")
    return user.pw_name, user.pw_uid, grp.getgrgid(user.pw_gid).gr_name, user.pw_gid


def _self_signed(root: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (root / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _config(root: Path, *, port: int, tls_port: int) -> str:
    user, uid, group, gid = _run_as()
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  # No listener, no auth penalty: logins after the wrong-password test are not slowed down.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _wait_for(process: subprocess.Popen[bytes], root: Path, *ports: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    waiting = set(ports)
    while waiting:
        if process.poll() is not None or time.monotonic() > deadline:
            output = "\n".join(
                path.read_text(errors="replace")
                for path in (root / "server.out", root / "dovecot.log")
                if path.exists()
            )
            pytest.fail(f"dovecot did not start listening on {sorted(waiting)}:\n{output}")
        for port in list(waiting):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                waiting.discard(port)
        time.sleep(0.1)


@contextlib.contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    if DOVECOT is None:
        pytest.skip(
            "dovecot is not installed (apt-get install -y dovecot-imapd); the IMAP alert tests "
            "run against a real IMAP server"
        )
    root = Path(tempfile.mkdtemp(prefix="gigforge-dovecot-"))
    port, tls_port = _free_port(), _free_port()
    for directory in ("run", "state", "home"):
        (root / directory).mkdir()
    _self_signed(root)
    (root / "passwd").write_text(f"{USERNAME}:{{PLAIN}}{PASSWORD}\n")
    (root / "dovecot.conf").write_text(_config(root, port=port, tls_port=tls_port))
    _, uid, _, gid = _run_as()
    as_root = os.geteuid() == 0
    if as_root:
        for path in [root, *root.rglob("*")]:
            os.chown(path, uid, gid)
    server_log = root / "server.out"
    with server_log.open("wb") as output:
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=output,
            stderr=subprocess.STDOUT,
            user=uid if as_root else None,
            group=gid if as_root else None,
            extra_groups=[] if as_root else None,
        )
    try:
        _wait_for(process, root, port, tls_port)
        yield Dovecot(host="127.0.0.1", port=port, tls_port=tls_port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


class Folder:
    """One fresh folder per test, so tests share the server but never each other's mail."""

    def __init__(self, server: Dovecot, name: str) -> None:
        self.server = server
        self.name = name

    def _with_imap(self, work: Callable[[imaplib.IMAP4], Any]) -> Any:
        imap = self.server.login()
        try:
            return work(imap)
        finally:
            imap.logout()

    def create(self) -> None:
        self._with_imap(lambda imap: imap.create(mailbox_name(self.name)))

    async def deliver(self, *messages: bytes) -> None:
        def append(imap: imaplib.IMAP4) -> None:
            for message in messages:
                status, _ = imap.append(mailbox_name(self.name), None, None, message)
                assert status == "OK"

        await asyncio.to_thread(self._with_imap, append)

    async def rebuild(self) -> None:
        """Delete and recreate the folder: the server gives it a new UIDVALIDITY."""

        def recreate(imap: imaplib.IMAP4) -> None:
            imap.delete(mailbox_name(self.name))
            imap.create(mailbox_name(self.name))

        await asyncio.to_thread(self._with_imap, recreate)

    async def seen(self) -> dict[int, bool]:
        """Each message's UID and whether it carries the \\Seen flag."""

        def flags(imap: imaplib.IMAP4) -> dict[int, bool]:
            imap.select(mailbox_name(self.name), readonly=True)
            _, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
            found: dict[int, bool] = {}
            for line in data:
                if isinstance(line, bytes) and b"UID" in line:
                    uid = int(line.split(b"UID ")[1].split()[0].rstrip(b")"))
                    found[uid] = b"\\Seen" in line
            return found

        result: dict[int, bool] = await asyncio.to_thread(self._with_imap, flags)
        return result
