"""The Himalayas job feed: offset paging over `GET /jobs/api`, newest first, 20 jobs a page.

Himalayas orders jobs by `pubDate`, newest first, so a run stops at the first page that
reaches `since` instead of walking an archive of a hundred thousand jobs. The offset advances
by the jobs a page actually returned, since Himalayas serves at most 20 whatever `limit` asks.
A bad job is skipped with a warning; a page that is not the documented envelope is `Permanent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import JobFeed, JobPosting
from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.framework.feeds import decode_json, skipped, utc
from gigforge.integrations.himalayas.mapping import to_posting
from gigforge.integrations.himalayas.spec import (
    JOBS_PATH,
    MAX_PAGE_SIZE,
    SPEC,
    HimalayasConfig,
)


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
        cutoff = utc(since)
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
        page = decode_json(await response.aread(), charset=response.charset_encoding, spec=SPEC)
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
        skipped(SPEC, index, f"job is a JSON {type(job).__name__}, not an object")
        return None
    try:
        return to_posting(job)
    except (ValueError, TypeError) as exc:
        skipped(SPEC, index, str(exc))
        return None
