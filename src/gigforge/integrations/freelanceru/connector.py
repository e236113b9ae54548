"""The Freelance.ru job feed: one RSS feed of new projects, newest first.

The body is handed to feedparser as a stream of the bytes we fetched (given a bytes string,
feedparser would try it as a file name), with the response's Content-Type so a declared
charset wins, as RFC 3023 has it. When the declared charset does not fit the bytes, feedparser
falls back to windows-1252 and turns Russian into mojibake; the feed is then read again as
windows-1251, the encoding Freelance.ru's feeds use. A feed parsed leniently (cut off) still
yields the items that survive; an item that cannot become a posting is skipped with a warning;
a body that is no feed at all is `Permanent`.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx
import structlog
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import JobFeed, JobPosting
from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.freelanceru.mapping import item_fields, to_posting
from gigforge.integrations.freelanceru.spec import SITE_ENCODING, SPEC, FreelanceRuConfig

logger = structlog.get_logger("gigforge.integrations")


class FreelanceRuConnector(JobFeed):
    spec = SPEC
    config: FreelanceRuConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, FreelanceRuConfig):
            raise TypeError(f"{SPEC.title} needs a FreelanceRuConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        return {"count": len(await self._entries())}

    async def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        cutoff = _utc(since)
        for index, entry in enumerate(await self._entries()):
            try:
                posting = to_posting(item_fields(entry))
            except (ValueError, TypeError) as exc:
                logger.warning(
                    "feed item skipped", integration=SPEC.slug, reason=str(exc), index=index
                )
                continue
            if cutoff and posting.posted_at and posting.posted_at <= cutoff:
                continue
            yield posting

    async def _entries(self) -> list[Mapping[str, Any]]:
        response = await self.client.get(self.config.feed_path)
        return parse_feed(await response.aread(), content_type=response.headers.get("content-type"))


def parse_feed(body: bytes, *, content_type: str | None) -> list[Mapping[str, Any]]:
    """The feed's entries; `Permanent` when the body is not a feed at all."""
    feed = _parse(body, content_type)
    if isinstance(feed.get("bozo_exception"), feedparser.CharacterEncodingOverride):
        logger.warning(
            "feed body mis-encoded",
            integration=SPEC.slug,
            reason=f"{feed.bozo_exception}; read again as {SITE_ENCODING}",
        )
        feed = _parse(body, f"application/rss+xml; charset={SITE_ENCODING}")
    if not feed.get("version") and not feed.entries:
        problem = feed.get("bozo_exception")
        raise Permanent(
            f"{SPEC.title} answered with something that is not an RSS feed"
            + (f": {problem}" if problem else ""),
            integration=SPEC.slug,
        )
    if feed.get("bozo"):
        logger.warning(
            "feed parsed leniently", integration=SPEC.slug, reason=str(feed.get("bozo_exception"))
        )
    return list(feed.entries)


def _parse(body: bytes, content_type: str | None) -> Any:
    headers = {"content-type": content_type} if content_type else {}
    return feedparser.parse(io.BytesIO(body), response_headers=headers)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
