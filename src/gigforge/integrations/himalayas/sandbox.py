"""A local Himalayas for tests and demo mode.

It serves `GET /jobs/api` as Himalayas does: newest `pubDate` first, `offset` and `limit` with
`limit` capped at 20 and echoed back, and the `updatedAt` / `offset` / `limit` / `totalCount` /
`jobs` envelope. Himalayas documents no error body; the sandbox answers faults with
`{"error": ...}` and 429s with `Retry-After`. `corruption` serves a page cut off midway, an
HTML page, Latin-1 bytes declared as UTF-8, or JSON without the `jobs` list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal
from unicodedata import normalize

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gigforge.integrations.framework.sandbox import FaultInjector, Faults, json_error
from gigforge.integrations.himalayas.spec import JOBS_PATH, MAX_PAGE_SIZE

Corruption = Literal["truncated", "html", "latin1", "no_jobs"]

UPDATED_AT = 1_767_600_000_000
DAY_MS = 86_400_000
NEWEST_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z


def _job(number: int, role: str, company: str, **extra: Any) -> dict[str, Any]:
    slug = role.lower().replace(" ", "-")
    folded = normalize("NFKD", company.lower().replace(" ", ""))
    company_slug = folded.encode("ascii", "ignore").decode()
    return {
        "title": role,
        "excerpt": f"{company} is hiring a {role}.",
        "companyName": company,
        "companySlug": company_slug,
        "companyLogo": f"https://cdn-images.himalayas.app/{company_slug}.png",
        "employmentType": "Full Time",
        "minSalary": None,
        "maxSalary": None,
        "seniority": ["Mid-level"],
        "currency": "USD",
        "locationRestrictions": [],
        "timezoneRestrictions": [],
        "categories": ["Software Engineering"],
        "parentCategories": ["Engineering"],
        "description": f"<p>{company} is hiring a {role}.</p>",
        "pubDate": NEWEST_MS - number * DAY_MS,
        "expiryDate": NEWEST_MS + 30 * DAY_MS,
        "applicationLink": f"https://himalayas.app/companies/{company_slug}/jobs/{slug}",
        "guid": f"https://himalayas.app/companies/{company_slug}/jobs/{slug}",
        **extra,
    }


def seed_jobs() -> list[dict[str, Any]]:
    """Six jobs a day apart, newest first: a full one, one with hostile HTML, one with every
    optional field missing, and plain ones so paging has pages to turn."""
    return [
        _job(
            0,
            "Senior Python Developer",
            "Zürich Labs",
            minSalary=110000,
            maxSalary=140000,
            currency="EUR",
            seniority=["Senior"],
            locationRestrictions=[{"alpha2": "DE", "name": "Germany"}],
            categories=["Python", "Django", "Backend"],
            description="<p>Build <strong>APIs</strong>.</p><ul><li>Python</li></ul>",
        ),
        _job(
            1,
            "Data Engineer",
            "Evil Corp",
            title='Data <img src=x onerror="alert(1)">Engineer<script>alert(2)</script>',
            companyName="<b>Evil</b> Corp",
            description=(
                '<p onclick="steal()">Pipelines.</p><script>alert(3)</script>'
                '<a href="javascript:alert(4)">apply</a><object data="x"></object>'
            ),
        ),
        {
            "guid": "https://himalayas.app/companies/quiet/jobs/support-specialist",
            "title": "Support Specialist",
            "pubDate": NEWEST_MS - 2 * DAY_MS,
        },
        _job(3, "Frontend Engineer", "Acme", minSalary=45, maxSalary=60, salaryPeriod="hourly"),
        _job(4, "DevOps Engineer", "Initech"),
        _job(5, "QA Engineer", "Globex"),
    ]


@dataclass
class HimalayasSandbox:
    """State a test can read and turn: the jobs served, the pages asked for, the faults."""

    faults: Faults
    jobs: list[Any]
    corruption: Corruption | None = None
    queries: list[dict[str, str]] = field(default_factory=list)
    app: ASGIApp = field(init=False)

    def __post_init__(self) -> None:
        routes = [Route(JOBS_PATH, self._jobs_page, methods=["GET"])]
        self.app = FaultInjector(Starlette(routes=routes), self.faults, json_error)

    async def _jobs_page(self, request: Request) -> Response:
        params = request.query_params
        self.queries.append(dict(params))
        offset = _number(params.get("offset"), 0)
        limit = min(_number(params.get("limit"), MAX_PAGE_SIZE), MAX_PAGE_SIZE)
        page: dict[str, Any] = {
            "updatedAt": UPDATED_AT,
            "offset": offset,
            "limit": limit,
            "totalCount": len(self.jobs),
            "jobs": self.jobs[offset : offset + limit],
        }
        if self.corruption == "no_jobs":
            del page["jobs"]
        body = json.dumps(page, ensure_ascii=False)
        if self.corruption == "truncated":
            return _json_bytes(body.encode()[: len(body) // 2])
        if self.corruption == "html":
            return Response("<html><body>Too busy</body></html>", media_type="text/html")
        if self.corruption == "latin1":
            return _json_bytes(body.encode("latin-1", errors="replace"))
        return _json_bytes(body.encode())


def _number(value: str | None, default: int) -> int:
    return int(value) if value is not None and value.isdigit() else default


def _json_bytes(body: bytes) -> Response:
    return Response(body, media_type="application/json; charset=utf-8")


def create_sandbox(*, faults: Faults | None = None) -> HimalayasSandbox:
    return HimalayasSandbox(faults=faults or Faults(), jobs=seed_jobs())
