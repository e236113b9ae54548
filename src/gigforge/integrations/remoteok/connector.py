"""The Remote OK job feed: one call returns the whole current board, newest first.

The feed has no paging and no date filter, so `since` is applied here; a listing without a
date is kept, as it cannot be judged older. A bad element is skipped with a warning and the
rest still arrive; a body that is not a JSON array at all is `Permanent`, since calling again
soon would only spend the little budget the terms leave.
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
from gigforge.integrations.remoteok.mapping import is_legal_notice, legal_notice, to_posting
from gigforge.integrations.remoteok.spec import API_PATH, SPEC, RemoteOKConfig


class RemoteOKConnector(JobFeed):
    spec = SPEC
    config: RemoteOKConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, RemoteOKConfig):
            raise TypeError(f"{SPEC.title} needs a RemoteOKConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        items = await self._feed()
        return {"count": sum(1 for item in items if not is_legal_notice(item))}

    async def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        items = await self._feed()
        notice = legal_notice(items)
        cutoff = utc(since)
        for index, item in enumerate(items):
            if is_legal_notice(item):
                continue
            if not isinstance(item, Mapping):
                skipped(SPEC, index, f"element is a JSON {type(item).__name__}, not an object")
                continue
            try:
                posting = to_posting(item, notice=notice)
            except (ValueError, TypeError) as exc:
                skipped(SPEC, index, str(exc))
                continue
            if cutoff and posting.posted_at and posting.posted_at <= cutoff:
                continue
            yield posting

    async def _feed(self) -> list[Any]:
        params = {"tags": ",".join(self.config.tags)} if self.config.tags else None
        response = await self.client.get(API_PATH, params=params)
        body = decode_json(await response.aread(), charset=response.charset_encoding, spec=SPEC)
        if not isinstance(body, list):
            raise Permanent(
                f"{SPEC.title} answered with a JSON {type(body).__name__}, not the job array",
                integration=SPEC.slug,
                status=response.status_code,
            )
        return body
