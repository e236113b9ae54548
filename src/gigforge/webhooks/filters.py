"""Event type filters: exact names and `domain.*` families, checked against the catalog."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gigforge.events.service import events as event_service
from gigforge.events.service import split_type_filters
from gigforge.kit.errors import ValidationFailed
from gigforge.webhooks.errors import InvalidEventFilter


def matches(filters: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint with `filters` (empty: every type) takes `event_type`."""
    if not filters:
        return True
    for item in filters:
        if item == event_type or (item.endswith(".*") and event_type.startswith(item[:-1])):
            return True
    return False


def normalized(filters: Iterable[str]) -> list[str]:
    """The filters lower-cased, deduplicated and sorted; a 422 for a name the catalog does not
    have or a family with no type in it."""
    wanted = [item.strip().lower() for item in filters if item.strip()]
    try:
        names, prefixes = split_type_filters(wanted)
    except ValidationFailed as exc:
        raise InvalidEventFilter(exc.detail) from None
    known = [info.name for info in event_service.types()]
    for name in names:
        if name not in known:
            raise InvalidEventFilter(f"{name!r} is not an event type; see /api/v1/events/types")
    for prefix in prefixes:
        if not any(name.startswith(prefix) for name in known):
            raise InvalidEventFilter(f"no event type is in the family {prefix}*")
    return sorted({*names, *(prefix + "*" for prefix in prefixes)})
