"""The Remotive job feed: one call returns every active listing that matches, newest first.

Remotive has no paging and no date filter, so `since` is applied here; a listing without a
date is kept, as it cannot be judged older. With four calls a day allowed, one call per run is
all a run may spend. A bad job is skipped with a warning; a body that is not the documented
envelope is `Permanent`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import JobFeed, JobPosting
from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.framework.feeds import decode_json, skipped, utc
from gigforge.integrations.remotive.mapping import to_posting
from gigforge.integrations.remotive.spec import JOBS_PATH, SPEC, RemotiveConfig


class RemotiveConnector(JobFeed):
    spec = SPEC
    config: RemotiveConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, RemotiveConfig):
            raise TypeError(f"{SPEC.title} needs a RemotiveConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        jobs = await self._jobs(limit=1)
        return {"count": len(jobs)}

    async def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        cutoff = utc(since)
        for index, job in enumerate(await self._jobs(limit=self.config.limit)):
            if not isinstance(job, Mapping):
                skipped(SPEC, index, f"job is a JSON {type(job).__name__}, not an object")
                continue
            try:
                posting = to_posting(job)
            except (ValueError, TypeError) as exc:
                skipped(SPEC, index, str(exc))
                continue
            if cutoff and posting.posted_at and posting.posted_at <= cutoff:
                continue
            yield posting

    async def _jobs(self, *, limit: int | None) -> list[Any]:
        params: dict[str, str | int] = {}
        if self.config.category:
            params["category"] = self.config.category
        if self.config.search:
            params["search"] = self.config.search
        if limit is not None:
            params["limit"] = limit
        response = await self.client.get(JOBS_PATH, params=params)
        body = decode_json(await response.aread(), charset=response.charset_encoding, spec=SPEC)
        jobs = body.get("jobs") if isinstance(body, Mapping) else None
        if not isinstance(jobs, list):
            raise Permanent(
                f"{SPEC.title} answered without the documented `jobs` list",
                integration=SPEC.slug,
                status=response.status_code,
            )
        return jobs
