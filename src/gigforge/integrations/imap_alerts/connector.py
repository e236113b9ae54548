"""Job alert emails as a job feed: new messages in one IMAP folder become listings.

This connector is the one exception to "one road out": IMAP is not HTTP, so it cannot travel
through the policy transport, and `self.client` goes unused. What the policy layer gives HTTP
connectors is kept by other means: the password comes in only through the config's
`SecretStr` and is handed to nothing but imaplib; errors and logs name the server and the IMAP
response code, never the password or a server reply; failures map to the same framework
errors (a refused login is `AuthExpired`, an unreachable server `Transient`). The folder is
opened read-only (EXAMINE) unless the user asked for alerts to be marked read, and no mail is
ever deleted, moved or changed otherwise.

A scan is incremental. Each listing's cursor is `UIDVALIDITY:UID` of its message. Messages are
read in UID order, oldest first, so a cursor is a resume point: everything up to it has been
read (this departs from the "newest first" of `JobFeed`, which no resumable mailbox order can
give). A cursor from an earlier life of the folder (another UIDVALIDITY, RFC 3501 section
2.3.1.1) is ignored and the folder is read afresh.

The same folder also carries the hand-off platforms' "you won" mail (a Fiverr order, a
PeoplePerHour acceptance, a Guru award), which `awards` reads as `Award`s with a cursor of
its own, in the same form, so job alerts and awards are scanned independently. Those awards
are accepted on the platform, never from here.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, SecretStr

from gigforge.integrations.framework.capabilities import Award, JobFeed, JobPosting, Winning
from gigforge.integrations.framework.errors import AuthExpired
from gigforge.integrations.framework.runtime import destination_guard
from gigforge.integrations.imap_alerts.mailbox import (
    MailboxCursor,
    MailboxSession,
    MessageInfo,
    open_mailbox,
    search_date,
)
from gigforge.integrations.imap_alerts.parsers import AlertSkipped, parse_alert, parse_message
from gigforge.integrations.imap_alerts.parsers.awards import parse_award
from gigforge.integrations.imap_alerts.spec import SPEC, IMAPAlertsConfig

logger = structlog.get_logger("gigforge.integrations")

FETCH_BATCH = 25
MAX_MESSAGE_BYTES = 5 * 1024 * 1024
# `since` is compared with the server's arrival time; allow for its clock differing from ours.
CLOCK_ALLOWANCE = timedelta(minutes=5)


class IMAPAlertsConnector(JobFeed, Winning):
    spec = SPEC
    config: IMAPAlertsConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, IMAPAlertsConfig):
            raise TypeError(f"{SPEC.title} needs an IMAPAlertsConfig, not {type(config)!r}")
        super().__init__(client, config)
        start = getattr(config, "start_cursor", None)
        self._resume = MailboxCursor.parse(start) if start else None

    @property
    def resume_cursor(self) -> str | None:
        """Where this instance's next scan starts: just after the last message it examined,
        alert or not, so mail that yields nothing is not read again."""
        return str(self._resume) if self._resume else None

    async def test(self) -> dict[str, Any]:
        """Log in and open the folder read-only: proves the server, credentials and folder."""
        async with self._session(writable=False) as mailbox:
            return {
                "folder": mailbox.folder,
                "messages": mailbox.exists,
                "uidvalidity": mailbox.uidvalidity,
            }

    async def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        """Listings from messages after `cursor` (else where this instance stopped, else
        the config's `start_cursor`). With no usable cursor, `since` limits the scan to mail
        that arrived after it, and a folder larger than one scan starts at its newest mail."""
        start = MailboxCursor.parse(cursor) if cursor is not None else self._resume
        examined = produced = 0
        async with self._session(writable=self.config.mark_read) as mailbox:
            if start is not None and start.uidvalidity != mailbox.uidvalidity:
                logger.info(
                    "imap folder renumbered; reading it afresh",
                    integration=SPEC.slug,
                    folder=mailbox.folder,
                    cursor=str(start),
                    uidvalidity=mailbox.uidvalidity,
                )
                start = None
            pending = await self._pending(mailbox, start, since)
            for offset in range(0, len(pending), FETCH_BATCH):
                batch = pending[offset : offset + FETCH_BATCH]
                readable = [info.uid for info in batch if not _too_large(info)]
                bodies = await mailbox.bodies(readable) if readable else {}
                alerts: list[int] = []
                for info in batch:
                    position = MailboxCursor(mailbox.uidvalidity, info.uid)
                    postings = self._postings(info, bodies.get(info.uid), position, mailbox.folder)
                    for posting in postings:
                        yield posting
                    examined += 1
                    produced += len(postings)
                    if postings:
                        alerts.append(info.uid)
                    self._resume = position
                if alerts and self.config.mark_read:
                    await mailbox.mark_seen(alerts)
        logger.info(
            "imap alerts scanned",
            integration=SPEC.slug,
            folder=self.config.folder,
            messages=examined,
            listings=produced,
            cursor=self.resume_cursor,
        )

    async def awards(self, since_cursor: str | None = None) -> tuple[list[Award], str | None]:
        """Awards announced by mail after `since_cursor` (`UIDVALIDITY:UID`; without one, the
        newest `max_messages_per_scan` messages), read-only, and the cursor of the last
        message examined. A cursor from an earlier life of the folder reads it afresh."""
        start = MailboxCursor.parse(since_cursor) if since_cursor else None
        found: list[Award] = []
        position = start
        async with self._session(writable=False) as mailbox:
            if start is not None and start.uidvalidity != mailbox.uidvalidity:
                start = position = None
            pending = await self._pending(mailbox, start, None)
            for offset in range(0, len(pending), FETCH_BATCH):
                batch = pending[offset : offset + FETCH_BATCH]
                readable = [info.uid for info in batch if not _too_large(info)]
                bodies = await mailbox.bodies(readable) if readable else {}
                for info in batch:
                    position = MailboxCursor(mailbox.uidvalidity, info.uid)
                    award = _award(info, bodies.get(info.uid), position, mailbox.folder)
                    if award is not None:
                        found.append(award)
        return found, str(position) if position else since_cursor

    async def accept_award(self, external_bid_id: str) -> Award:
        raise self.not_supported(
            "accept_award",
            "an alert email only reports the award; the user accepts it on the platform",
        )

    async def _pending(
        self, mailbox: MailboxSession, start: MailboxCursor | None, since: datetime | None
    ) -> Sequence[MessageInfo]:
        limit = self.config.max_messages_per_scan
        if start is not None:
            uids = [
                uid for uid in await mailbox.search("UID", f"{start.uid + 1}:*") if uid > start.uid
            ]
            return list((await _described(mailbox, uids[:limit])).values())
        if since is None:
            uids = await mailbox.search("ALL")
            return list((await _described(mailbox, uids[-limit:])).values())
        cutoff = _utc(since) - CLOCK_ALLOWANCE
        # SEARCH SINCE compares dates only, in the server's zone: one day earlier is safe.
        uids = await mailbox.search("SINCE", search_date(cutoff - timedelta(days=1)))
        described = await _described(mailbox, uids)
        recent = [
            info for info in described.values() if info.arrived is None or info.arrived >= cutoff
        ]
        return recent[-limit:]

    def _postings(
        self, info: MessageInfo, raw: bytes | None, cursor: MailboxCursor, folder: str
    ) -> list[JobPosting]:
        if raw is None:
            _skipped(info.uid, "too_large" if _too_large(info) else "vanished", "not read")
            return []
        message_id: str | None = None
        try:
            message = parse_message(raw)
            message_id = str(message["Message-ID"] or "") or None
            postings = parse_alert(message)
        except AlertSkipped as skipped:
            _skipped(info.uid, skipped.reason, skipped.detail, skipped.platform, message_id)
            return []
        except Exception as exc:  # one unreadable message must not end the scan
            _skipped(info.uid, "unparseable", type(exc).__name__, None, message_id)
            return []
        context = {"uid": info.uid, "uidvalidity": cursor.uidvalidity, "folder": folder}
        return [
            posting.model_copy(update={"cursor": str(cursor), "raw": {**posting.raw, **context}})
            for posting in postings
        ]

    @contextlib.asynccontextmanager
    async def _session(self, *, writable: bool) -> AsyncIterator[MailboxSession]:
        mailbox = await open_mailbox(
            self.config,
            password=self._password(),
            writable=writable,
            guard=destination_guard(self.client),
        )
        try:
            yield mailbox
        finally:
            await mailbox.close()

    def _password(self) -> str:
        # A config rebuilt from stored public fields alone carries no password.
        secret = getattr(self.config, "password", None)
        if not isinstance(secret, SecretStr) or not secret.get_secret_value():
            raise AuthExpired(
                "No mailbox password is stored for this connection", integration=SPEC.slug
            )
        return secret.get_secret_value()


async def _described(mailbox: MailboxSession, uids: Sequence[int]) -> dict[int, MessageInfo]:
    if not uids:
        return {}
    described = await mailbox.describe(uids)
    return {uid: described[uid] for uid in sorted(described)}


def _award(
    info: MessageInfo, raw: bytes | None, cursor: MailboxCursor, folder: str
) -> Award | None:
    if raw is None:
        return None
    try:
        award = parse_award(parse_message(raw))
    except AlertSkipped:
        return None
    except Exception as exc:  # one unreadable message must not end the scan
        _skipped(info.uid, "unparseable", type(exc).__name__)
        return None
    context = {"uid": info.uid, "uidvalidity": cursor.uidvalidity, "folder": folder}
    return award.model_copy(update={"raw": {**award.raw, **context}})


def _too_large(info: MessageInfo) -> bool:
    return info.size is not None and info.size > MAX_MESSAGE_BYTES


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _skipped(
    uid: int,
    reason: str,
    detail: str,
    platform: str | None = None,
    message_id: str | None = None,
) -> None:
    logger.warning(
        "imap alert skipped",
        integration=SPEC.slug,
        uid=uid,
        reason=reason,
        detail=detail,
        platform=platform,
        message_id=message_id,
    )
