"""What every read-only feed connector needs: tolerant JSON decoding, a uniform log line for a
skipped item, and UTC times. One bad listing is skipped; a body that is not the feed at all is
`Permanent`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from gigforge.integrations.framework.errors import Permanent
from gigforge.integrations.framework.spec import IntegrationSpec

logger = structlog.get_logger("gigforge.integrations")


def decode_json(body: bytes, *, charset: str | None, spec: IntegrationSpec) -> Any:
    """JSON is UTF-8 unless the response says otherwise. Bytes that do not decode become U+FFFD
    (logged) so one mis-encoded listing does not cost the whole feed; a body that is not JSON,
    or ends early, is `Permanent`."""
    try:
        text = body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        logger.warning(
            "feed body mis-encoded",
            integration=spec.slug,
            declared=charset or "utf-8",
            reason="undecodable bytes were replaced",
        )
        text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Permanent(
            f"{spec.title} answered with a body that is not complete JSON: {exc.msg} at "
            f"character {exc.pos} of {len(text)}",
            integration=spec.slug,
        ) from None
    except RecursionError:
        raise Permanent(
            f"{spec.title} answered with JSON nested too deeply to read", integration=spec.slug
        ) from None


def skipped(spec: IntegrationSpec, index: int, reason: str) -> None:
    logger.warning("feed item skipped", integration=spec.slug, reason=reason, index=index)


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class MalformedItem(ValueError):
    """An item that cannot become a posting; the reason says which element failed."""


def rss_item_fields(entry: Mapping[str, Any], elements: Mapping[str, str]) -> dict[str, Any]:
    """A feedparser entry as the item's own elements (`elements` maps feedparser's names to
    the feed's), strings only, so a posting's `raw` is plain JSON and mappings can be tested on
    the documented shape. The first category, if any, is kept as `category`."""
    item: dict[str, Any] = {
        element: entry[name]
        for name, element in elements.items()
        if isinstance(entry.get(name), str)
    }
    categories = [
        tag["term"]
        for tag in entry.get("tags") or ()
        if isinstance(tag, Mapping) and isinstance(tag.get("term"), str)
    ]
    if categories:
        item["category"] = categories[0]
    return item
