"""The Remotive job feed: one call returns every active listing that matches, newest first.

Remotive has no paging and no date filter, so `since` is applied here; a listing without a
date is kept, as it cannot be judged older. With four calls a day allowed, one call per run is
all a run may spend. A bad job is skipped with a warning; a body that is not the documented
envelope is `Permanent`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import JobFeed, JobPosting
from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.remotive.mapping import to_posting
from gigforge.integrations.remotive.spec import JOBS_PATH, SPEC, RemotiveConfig

logger = structlog.get_logger("gigforge.integrations")


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
        cutoff = _utc(since)
        for index, job in enumerate(await self._jobs(limit=self.config.limit)):
            if not isinstance(job, Mapping):
                _skipped(index, f"job is a JSON {type(job).__name__}, not an object")
                continue
            try:
                posting = to_posting(job)
            except (ValueError, TypeError) as exc:
                _skipped(index, str(exc))
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
        body = decode_json(await response.aread(), charset=response.charset_encoding)
        jobs = body.get("jobs") if isinstance(body, Mapping) else None
        if not isinstance(jobs, list):
            raise Permanent(
                f"{SPEC.title} answered without the documented `jobs` list",
                integration=SPEC.slug,
                status=response.status_code,
            )
        return jobs


def decode_json(body: bytes, *, charset: str | None) -> Any:
    """JSON is UTF-8 unless the response says otherwise. Bytes that do not decode become U+FFFD
    (logged) so one mis-encoded listing does not cost the whole feed; a body that is not JSON,
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
