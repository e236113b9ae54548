"""A local Remote OK for tests and demo mode.

It serves `GET /api` as Remote OK does: a JSON array, the legal notice first, then the jobs
newest first, narrowed by `?tags=a,b` to jobs carrying any of those tags. Remote OK documents
no error body; the sandbox answers faults with `{"error": ...}` and 429s with `Retry-After`.
`corruption` makes it misbehave the ways a real feed does: cut off mid-body, an HTML page
instead of JSON, Latin-1 bytes where UTF-8 was promised, or a JSON object with a 200.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, json_error
from gigforge.integrations.remoteok.spec import API_PATH

Corruption = Literal["truncated", "html", "latin1", "object"]

LEGAL_NOTICE = {
    "last_updated": 1_767_600_000,
    "legal": (
        "API Terms of Service: link back to the listing URL on Remote OK with a followed "
        "link and mention Remote OK as the source (sandbox copy of the notice)."
    ),
}


def seed_jobs() -> list[dict[str, Any]]:
    """Realistic elements: a full one, one with hostile HTML, one with every optional field
    missing, and older ones for `since`."""
    return [
        {
            "slug": "remote-senior-python-engineer-northwind-1130001",
            "id": "1130001",
            "epoch": 1_767_571_200,
            "date": "2026-01-05T00:00:00+00:00",
            "company": "Northwind Café",
            "company_logo": "https://remoteok.com/assets/img/jobs/northwind.png",
            "position": "Senior Python Engineer",
            "tags": ["python", "django", "backend"],
            "description": "<p>Build our <strong>booking API</strong> in Django.</p>",
            "location": "Worldwide",
            "salary_min": 90000,
            "salary_max": 130000,
            "apply_url": "https://remoteok.com/remote-jobs/1130001",
            "url": "https://remoteok.com/remote-jobs/remote-senior-python-engineer-northwind-1130001",
        },
        {
            "slug": "remote-frontend-developer-evil-corp-1130002",
            "id": "1130002",
            "epoch": 1_767_484_800,
            "date": "2026-01-04T00:00:00+00:00",
            "company": "<b>Evil</b> Corp",
            "position": (
                'Frontend Developer <img src=x onerror="alert(1)"><script>alert(2)</script>'
            ),
            "tags": ["react", "<i>javascript</i>"],
            "description": (
                '<p onclick="steal()">Ship our dashboard.</p><script>alert(3)</script>'
                '<a href="javascript:alert(4)">apply</a><iframe src="https://evil.test"></iframe>'
            ),
            "salary_min": 0,
            "salary_max": 0,
            "url": "https://remoteok.com/remote-jobs/remote-frontend-developer-evil-corp-1130002",
        },
        {
            "id": "1130003",
            "slug": "remote-support-engineer-1130003",
            "epoch": 1_767_398_400,
            "position": "Support Engineer",
        },
        {
            "slug": "remote-devops-engineer-acme-1130004",
            "id": "1130004",
            "epoch": 1_767_225_600,
            "date": "2026-01-01T00:00:00+00:00",
            "company": "Acme",
            "position": "DevOps Engineer",
            "tags": ["devops", "python", "aws"],
            "description": "<p>Kubernetes and Terraform.</p>",
            "salary_min": 70000,
            "salary_max": 0,
            "url": "https://remoteok.com/remote-jobs/remote-devops-engineer-acme-1130004",
        },
    ]


@dataclass
class RemoteOKSandbox:
    """State a test can read and turn: the jobs served, the queries seen, the faults."""

    faults: Faults
    jobs: list[Any]
    corruption: Corruption | None = None
    queries: list[dict[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)

    def __post_init__(self) -> None:
        routes = [Route(API_PATH, self._feed, methods=["GET"])]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, json_error)

    async def _feed(self, request: Request) -> Response:
        self.queries.append(dict(request.query_params))
        wanted = {tag for tag in request.query_params.get("tags", "").split(",") if tag}
        jobs = [job for job in self.jobs if not wanted or _has_tag(job, wanted)]
        body = json.dumps([LEGAL_NOTICE, *jobs], ensure_ascii=False)
        if self.corruption == "truncated":
            return _json_bytes(body.encode()[: len(body) // 2])
        if self.corruption == "html":
            return Response(
                "<html><body><h1>Just a moment...</h1></body></html>", media_type="text/html"
            )
        if self.corruption == "object":
            return _json_bytes(b'{"error": "feed unavailable"}')
        if self.corruption == "latin1":
            return _json_bytes(body.encode("latin-1", errors="replace"))
        return _json_bytes(body.encode())


def _has_tag(job: Any, wanted: set[str]) -> bool:
    tags = job.get("tags") if isinstance(job, dict) else None
    return isinstance(tags, list) and bool(wanted & {str(tag) for tag in tags})


def _json_bytes(body: bytes) -> Response:
    return Response(body, media_type="application/json; charset=utf-8")


def create_sandbox(*, faults: Faults | None = None) -> RemoteOKSandbox:
    return RemoteOKSandbox(faults=faults or Faults(), jobs=seed_jobs())
