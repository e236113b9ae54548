"""Text from third parties is hostile until cleaned: titles become plain text, descriptions keep
a small safe subset of HTML. Built on nh3 (the ammonia sanitizer), not on regular expressions."""

from __future__ import annotations

import html
import re

import nh3

SAFE_TAGS = frozenset({"p", "br", "ul", "ol", "li", "b", "strong", "i", "em", "a", "code", "pre"})
SAFE_ATTRIBUTES = {"a": {"href", "title"}}
SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_SPACE = re.compile(r"\s+")


def plain_text(value: str | None, *, limit: int | None = None) -> str:
    """Every tag removed, entities decoded once, whitespace collapsed."""
    if not value:
        return ""
    text = html.unescape(nh3.clean(value, tags=set()))
    text = _SPACE.sub(" ", text).strip()
    return text[:limit] if limit is not None else text


def safe_html(value: str | None, *, limit: int | None = None) -> str:
    """Formatting kept, scripts, styles, event handlers and unsafe links removed."""
    if not value:
        return ""
    cleaned = nh3.clean(
        value,
        tags=set(SAFE_TAGS),
        attributes={tag: set(names) for tag, names in SAFE_ATTRIBUTES.items()},
        url_schemes=set(SAFE_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    ).strip()
    return cleaned[:limit] if limit is not None else cleaned
