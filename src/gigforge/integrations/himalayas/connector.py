"""The Himalayas job feed: offset paging over `GET /jobs/api`, newest first, 20 jobs a page.

Himalayas orders jobs by `pubDate`, newest first, so a run stops at the first page that
reaches `since` instead of walking an archive of a hundred thousand jobs. The offset advances
by the jobs a page actually returned, since Himalayas serves at most 20 whatever `limit` asks.
A bad job is skipped with a warning; a page that is not the documented envelope is `Permanent`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import structlog
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import JobFeed, JobPosting
from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.himalayas.mapping import to_posting
from gigforge.integrations.himalayas.spec import (
    JOBS_PATH,
    MAX_PAGE_SIZE,
    SPEC,
    HimalayasConfig,
)

logger = structlog.get_logger("gigforge.integrations")


class HimalayasConnector(JobFeed):
    spec = SPEC
    page_size: ClassVar[int] = MAX_PAGE_SIZE
    config: HimalayasConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, HimalayasConfig):
            raise TypeError(f"{SPEC.title} needs a HimalayasConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        page = await self._page(offset=0, limit=1)
        return {"count": len(page["jobs"]), "total": page.get("totalCount")}

    async def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        cutoff = _utc(since)
        offset = 0
        for _ in range(self.config.max_pages):
            page = await self._page(offset=offset, limit=self.page_size)
            jobs: list[Any] = page["jobs"]
            reached_since = False
            for index, job in enumerate(jobs, start=offset):
                posting = _posting(job, index)
                if posting is None:
                    continue
                if cutoff and posting.posted_at and posting.posted_at <= cutoff:
                    reached_since = True
                    continue
                yield posting
            offset += len(jobs)
            total = page.get("totalCount")
            if reached_since or not jobs or (isinstance(total, int) and offset >= total):
                return

    async def _page(self, *, offset: int, limit: int) -> Mapping[str, Any]:
        response = await self.client.get(JOBS_PATH, params={"offset": offset, "limit": limit})
        page = decode_json(await response.aread(), charset=response.charset_encoding)
        if not isinstance(page, Mapping) or not isinstance(page.get("jobs"), list):
            raise Permanent(
                f"{SPEC.title} answered without the documented `jobs` list",
                integration=SPEC.slug,
                status=response.status_code,
            )
        return page


def _posting(job: Any, index: int) -> JobPosting | None:
    """The posting for one job, or None (logged) when the job cannot become one."""
    if not isinstance(job, Mapping):
        _skipped(index, f"job is a JSON {type(job).__name__}, not an object")
        return None
    try:
        return to_posting(job)
    except (ValueError, TypeError) as exc:
        _skipped(index, str(exc))
        return None


def decode_json(body: bytes, *, charset: str | None) -> Any:
    """JSON is UTF-8 unless the response says otherwise. Bytes that do not decode become U+FFFD
    (logged) so one mis-encoded listing does not cost the whole page; a body that is not JSON,
    or ends early, is `Permanent`."""
    try:
        text = body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        logger.warning(
            "feed body mis-encoded",
            integration=SPEC.slug,
            declared=charset or "utf-8",
            reason="undecodable bytes were replaced",
        )
        text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Permanent(
            f"{SPEC.title} answered with a body that is not complete JSON: {exc.msg} at "
            f"character {exc.pos} of {len(text)}",
            integration=SPEC.slug,
        ) from None
    except RecursionError:
        raise Permanent(
            f"{SPEC.title} answered with JSON nested too deeply to read", integration=SPEC.slug
        ) from None


def _skipped(index: int, reason: str) -> None:
    logger.warning("feed item skipped", integration=SPEC.slug, reason=reason, index=index)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
