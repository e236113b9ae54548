"""A local Remotive for tests and demo mode.

It serves `GET /api/remote-jobs` with the documented envelope (`0-legal-notice`, `job-count`,
`jobs`) and the documented filters: `category` by name or slug, `search` and `company_name` as
case-insensitive substrings, and `limit`. Remotive documents no error body; the sandbox answers
faults with `{"error": ...}` and 429s with `Retry-After`. `corruption` serves a body cut off
midway, an HTML page, Latin-1 bytes declared as UTF-8, or JSON without the `jobs` list.
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
from gigforge.integrations.remotive.spec import JOBS_PATH

Corruption = Literal["truncated", "html", "latin1", "no_jobs"]

CATEGORIES = {
    "software-dev": "Software Development",
    "devops": "DevOps / Sysadmin",
    "design": "Design",
    "customer-support": "Customer Service",
}


def seed_jobs() -> list[dict[str, Any]]:
    """Newest first, as Remotive sorts: a full job, one with hostile HTML, one with every
    optional field missing, and an older one for `since`."""
    return [
        {
            "id": 1_950_001,
            "url": "https://remotive.com/remote-jobs/software-dev/senior-backend-engineer-1950001",
            "title": "Senior Backend Engineer",
            "company_name": "Señor Data",
            "company_logo": "https://remotive.com/job/1950001/logo",
            "category": "Software Development",
            "tags": ["python", "postgresql", "aws"],
            "job_type": "full_time",
            "publication_date": "2026-01-05T09:30:00",
            "candidate_required_location": "Europe",
            "salary": "$90,000 - $120,000",
            "description": "<p>Own our <em>ingestion</em> pipeline.</p><ul><li>Python</li></ul>",
        },
        {
            "id": 1_950_002,
            "url": "https://remotive.com/remote-jobs/design/product-designer-1950002",
            "title": "<script>alert(1)</script>Product <b>Designer</b>",
            "company_name": "Pixel & Co",
            "category": "Design",
            "tags": ["figma"],
            "job_type": "contract",
            "publication_date": "2026-01-04T12:00:00",
            "candidate_required_location": "Worldwide",
            "salary": "$45/hour",
            "description": (
                '<img src=x onerror="alert(2)"><p style="x" onmouseover="steal()">Design '
                'flows.</p><a href="javascript:alert(3)">more</a><form action="/x"></form>'
            ),
        },
        {
            "id": 1_950_003,
            "url": "https://remotive.com/remote-jobs/customer-support/support-agent-1950003",
            "title": "Support Agent",
        },
        {
            "id": 1_950_004,
            "url": "https://remotive.com/remote-jobs/devops/site-reliability-engineer-1950004",
            "title": "Site Reliability Engineer",
            "company_name": "Acme",
            "category": "DevOps / Sysadmin",
            "tags": ["kubernetes"],
            "job_type": "full_time",
            "publication_date": "2026-01-01T08:00:00",
            "candidate_required_location": "USA",
            "salary": "Competitive",
            "description": "<p>Keep the lights on.</p>",
        },
    ]


@dataclass
class RemotiveSandbox:
    """State a test can read and turn: the jobs served, the queries seen, the faults."""

    faults: Faults
    jobs: list[Any]
    corruption: Corruption | None = None
    queries: list[dict[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)

    def __post_init__(self) -> None:
        routes = [Route(JOBS_PATH, self._remote_jobs, methods=["GET"])]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, json_error)

    async def _remote_jobs(self, request: Request) -> Response:
        params = request.query_params
        self.queries.append(dict(params))
        jobs = [job for job in self.jobs if _matches(job, params)]
        limit = params.get("limit", "")
        if limit.isdigit():
            jobs = jobs[: int(limit)]
        envelope: dict[str, Any] = {
            "0-legal-notice": "Remotive API Legal Notice",
            "job-count": len(jobs),
            "jobs": jobs,
        }
        if self.corruption == "no_jobs":
            del envelope["jobs"]
        body = json.dumps(envelope, ensure_ascii=False)
        if self.corruption == "truncated":
            return _json_bytes(body.encode()[: len(body) // 2])
        if self.corruption == "html":
            return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if self.corruption == "latin1":
            return _json_bytes(body.encode("latin-1", errors="replace"))
        return _json_bytes(body.encode())


def _matches(job: Any, params: Any) -> bool:
    if not isinstance(job, dict):
        return True
    category = params.get("category")
    if (
        category
        and CATEGORIES.get(category, category).lower() != str(job.get("category", "")).lower()
    ):
        return False
    search = str(params.get("search", "")).lower()
    text = f"{job.get('title', '')} {job.get('description', '')}".lower()
    if search and search not in text:
        return False
    company = str(params.get("company_name", "")).lower()
    return not company or company in str(job.get("company_name", "")).lower()


def _json_bytes(body: bytes) -> Response:
    return Response(body, media_type="application/json; charset=utf-8")


def create_sandbox(*, faults: Faults | None = None) -> RemotiveSandbox:
    return RemotiveSandbox(faults=faults or Faults(), jobs=seed_jobs())
