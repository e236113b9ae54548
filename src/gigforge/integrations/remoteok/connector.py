"""The Remote OK job feed: one call returns the whole current board, newest first.

The feed has no paging and no date filter, so `since` is applied here; a listing without a
date is kept, as it cannot be judged older. A bad element is skipped with a warning and the
rest still arrive; a body that is not a JSON array at all is `Permanent`, since calling again
soon would only spend the little budget the terms leave.
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
from gigforge.integrations.remoteok.mapping import is_legal_notice, legal_notice, to_posting
from gigforge.integrations.remoteok.spec import API_PATH, SPEC, RemoteOKConfig

logger = structlog.get_logger("gigforge.integrations")


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
        cutoff = _utc(since)
        for index, item in enumerate(items):
            if is_legal_notice(item):
                continue
            if not isinstance(item, Mapping):
                _skipped(index, f"element is a JSON {type(item).__name__}, not an object")
                continue
            try:
                posting = to_posting(item, notice=notice)
            except (ValueError, TypeError) as exc:
                _skipped(index, str(exc))
                continue
            if cutoff and posting.posted_at and posting.posted_at <= cutoff:
                continue
            yield posting

    async def _feed(self) -> list[Any]:
        params = {"tags": ",".join(self.config.tags)} if self.config.tags else None
        response = await self.client.get(API_PATH, params=params)
        body = decode_json(await response.aread(), charset=response.charset_encoding)
        if not isinstance(body, list):
            raise Permanent(
                f"{SPEC.title} answered with a JSON {type(body).__name__}, not the job array",
                integration=SPEC.slug,
                status=response.status_code,
            )
        return body


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
