"""Example Gigs' API as an ASGI app: what the plugin's tests and `serve --sandbox` talk to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SANDBOX_API_KEY = "example-sandbox-key"
PAGE_SIZE = 2


def _jobs() -> list[dict[str, Any]]:
    return [
        {
            "id": 101,
            "title": "Landing page in React",
            "tags": ["react", "css"],
            "description": "A one-page site with a signup form.",
            "created": 1767225600,
            "budget": {"type": "fixed", "currency": "USD", "min_cents": 30000, "max_cents": 60000},
        },
        {
            "id": 102,
            "title": "Python scraper for public tenders",
            "tags": ["python"],
            "description": "Read the public RSS feeds of three tender sites.",
            "created": 1767222000,
        },
        {
            "id": 103,
            "title": "Logo for a bakery",
            "tags": ["design"],
            "created": 1767218400,
            "budget": {"type": "fixed", "currency": "EUR", "min_cents": 10000, "max_cents": 20000},
        },
    ]


@dataclass
class ExampleGigsSandbox:
    jobs: list[dict[str, Any]] = field(default_factory=_jobs)
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route("/v1/me", self.me), Route("/v1/jobs", self.list_jobs)])

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("x-api-key") != SANDBOX_API_KEY:
            return JSONResponse({"error": "invalid api key"}, status_code=401)
        return None

    async def me(self, request: Request) -> Response:
        return self._refused(request) or JSONResponse({"name": "sandbox freelancer"})

    async def list_jobs(self, request: Request) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        page = int(request.query_params.get("page", "1"))
        chunk = self.jobs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        more = page * PAGE_SIZE < len(self.jobs)
        return JSONResponse({"jobs": chunk, "next_page": page + 1 if more else None})


def create_sandbox() -> ExampleGigsSandbox:
    return ExampleGigsSandbox()
