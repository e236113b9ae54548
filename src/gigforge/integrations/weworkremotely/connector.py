"""The We Work Remotely job feed: the all-jobs RSS feed or up to four category feeds.

Nothing is fetched until the user has turned the connection on after reading the terms; until
then `listings` and `test` refuse with `Permanent` and say why. The response body is handed to
feedparser as a stream of the bytes we fetched (given a bytes string, feedparser would try it
as a file name), with the response's Content-Type so the declared charset is honoured. A feed
parsed leniently (truncated, mis-encoded) still yields the items that survive; an item that
cannot become a posting is skipped with a warning; a body that is no feed at all is `Permanent`.
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
from gigforge.integrations.weworkremotely.mapping import item_fields, to_posting
from gigforge.integrations.weworkremotely.spec import (
    ALL_JOBS_PATH,
    CATEGORY_PATH,
    SPEC,
    TERMS_URL,
    WeWorkRemotelyConfig,
)

logger = structlog.get_logger("gigforge.integrations")
_OLDEST = datetime.min.replace(tzinfo=UTC)


class WeWorkRemotelyConnector(JobFeed):
    spec = SPEC
    config: WeWorkRemotelyConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, WeWorkRemotelyConfig):
            raise TypeError(f"{SPEC.title} needs a WeWorkRemotelyConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        self._require_enabled()
        entries = await self._entries(self.feed_paths()[0])
        return {"count": len(entries)}

    async def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        """Every feed's postings, each listing once, newest first."""
        self._require_enabled()
        cutoff = _utc(since)
        postings: dict[str, JobPosting] = {}
        for path in self.feed_paths():
            for index, entry in enumerate(await self._entries(path)):
                try:
                    posting = to_posting(item_fields(entry))
                except (ValueError, TypeError) as exc:
                    _skipped(path, index, str(exc))
                    continue
                if cutoff and posting.posted_at and posting.posted_at <= cutoff:
                    continue
                postings.setdefault(posting.external_id, posting)
        for posting in sorted(postings.values(), key=_posted, reverse=True):
            yield posting

    def feed_paths(self) -> list[str]:
        if not self.config.categories:
            return [ALL_JOBS_PATH]
        return [CATEGORY_PATH.format(slug=slug) for slug in self.config.categories]

    def _require_enabled(self) -> None:
        if not self.config.enabled_by_user:
            raise Permanent(
                f"{SPEC.title} is off: its terms restrict automated use of its data, so it is "
                f"read only after you have read {TERMS_URL} and turned on `enabled_by_user`",
                integration=SPEC.slug,
            )

    async def _entries(self, path: str) -> list[Mapping[str, Any]]:
        response = await self.client.get(path)
        return parse_feed(
            await response.aread(),
            content_type=response.headers.get("content-type"),
            path=path,
        )


def parse_feed(body: bytes, *, content_type: str | None, path: str) -> list[Mapping[str, Any]]:
    """The feed's entries; `Permanent` when the body is not a feed at all."""
    headers = {"content-type": content_type} if content_type else {}
    feed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not feed.get("version") and not feed.entries:
        problem = feed.get("bozo_exception")
        raise Permanent(
            f"{SPEC.title} answered {path} with something that is not an RSS feed"
            + (f": {problem}" if problem else ""),
            integration=SPEC.slug,
        )
    if feed.get("bozo"):
        logger.warning(
            "feed parsed leniently",
            integration=SPEC.slug,
            path=path,
            reason=str(feed.get("bozo_exception")),
        )
    return list(feed.entries)


def _posted(posting: JobPosting) -> datetime:
    """Undated postings sort last."""
    return posting.posted_at or _OLDEST


def _skipped(path: str, index: int, reason: str) -> None:
    logger.warning(
        "feed item skipped", integration=SPEC.slug, reason=reason, path=path, index=index
    )


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
