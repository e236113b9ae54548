"""Deprecated operations and fields, announced the way HTTP clients and OpenAPI tools read it.

A deprecated operation keeps working until its sunset; every answer it gives (errors included,
once routing chose it) carries

- `Deprecation: @1764720000`, the moment it was deprecated (RFC 9745, a structured-field date),
- `Sunset: Thu, 03 Jun 2027 00:00:00 GMT`, when it may stop answering (RFC 8594),
- `Link: <https://host/redoc#...>; rel="deprecation"`, where the migration note is,

and OpenAPI marks it `deprecated: true`. A deprecated field is marked `deprecated: true` in its
schema; an endpoint that receives one calls `mark(request)` to send the same headers.

The policy behind the dates is in docs/api.md ("Versioning and deprecation"): breaking changes
only under a new major path, at least 90 days between the announcement and the sunset, and six
months of support for anything deprecated. `Deprecation` refuses dates that break it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Request
from pydantic import Field, JsonValue
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATE_KEY = "deprecation"
MIN_SUPPORT = timedelta(days=182)
EXPOSED_HEADERS = ("Deprecation", "Sunset", "Link")


@dataclass(frozen=True)
class Deprecation:
    """One deprecated operation or field: since when, until when, and what replaces it."""

    name: str
    deprecated_at: datetime
    sunset_at: datetime
    successor: str
    #: The migration note's address: absolute, or a path on this server (`/redoc#...`).
    link: str
    note: str = field(default="")

    def __post_init__(self) -> None:
        if self.deprecated_at.tzinfo is None or self.sunset_at.tzinfo is None:
            raise ValueError(f"{self.name}: deprecation dates must be timezone-aware")
        if self.sunset_at - self.deprecated_at < MIN_SUPPORT:
            raise ValueError(
                f"{self.name}: a deprecated API is supported for six months; the sunset must "
                f"be on or after {(self.deprecated_at + MIN_SUPPORT).date()}"
            )
        registry.setdefault(self.name, self)

    def headers(self, base_url: str) -> dict[str, str]:
        link = self.link if "://" in self.link else base_url.rstrip("/") + self.link
        return {
            "Deprecation": f"@{int(self.deprecated_at.timestamp())}",
            "Sunset": format_datetime(self.sunset_at.astimezone(UTC), usegmt=True),
            "Link": f'<{link}>; rel="deprecation"; type="text/html"',
        }

    def summary(self) -> str:
        return (
            f"Deprecated since {self.deprecated_at.date()}, sunset {self.sunset_at.date()}: "
            f"use {self.successor}. {self.note}".strip()
        )

    def extension(self) -> dict[str, JsonValue]:
        """The `x-deprecation` OpenAPI extension: the same facts, for tools and people."""
        return {
            "deprecated_at": self.deprecated_at.isoformat(),
            "sunset": self.sunset_at.isoformat(),
            "successor": self.successor,
            "link": self.link,
        }

    def mark(self, request: Request) -> None:
        """Send this deprecation's headers with the request's answer."""
        request.scope.setdefault("state", {})[STATE_KEY] = self

    def route(self) -> dict[str, Any]:
        """Keyword arguments for a route decorator: `@router.post(..., **GONE.route())`."""

        async def mark(request: Request) -> None:
            self.mark(request)

        return {
            "deprecated": True,
            "dependencies": [Depends(mark)],
            "openapi_extra": {"x-deprecation": self.extension()},
        }

    def field(self, default: Any = None, *, description: str = "", **kwargs: Any) -> Any:
        """A pydantic `Field` flagged `deprecated: true` in the JSON Schema."""
        return Field(
            default,
            description=f"{description} {self.summary()}".strip(),
            json_schema_extra={"deprecated": True, "x-deprecation": self.extension()},
            **kwargs,
        )


#: Every deprecation declared so far, by name (documentation and tests list them).
registry: dict[str, Deprecation] = {}


class DeprecationHeadersMiddleware:
    """Adds a marked request's deprecation headers to its answer. `base_url` resolves links
    given as paths on this server (the settings' public URL)."""

    def __init__(self, app: ASGIApp, base_url: str) -> None:
        self.app = app
        self.base_url = base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                deprecation = scope.get("state", {}).get(STATE_KEY)
                if isinstance(deprecation, Deprecation):
                    headers = MutableHeaders(scope=message)
                    for name, value in deprecation.headers(self.base_url).items():
                        if name == "Link":  # beside any other links the answer has
                            headers.append(name, value)
                        else:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
