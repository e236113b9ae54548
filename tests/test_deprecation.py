"""Deprecated operations announce it (RFC 9745 Deprecation, RFC 8594 Sunset, a Link to the
migration note) and OpenAPI flags them; `POST /jobs/accept` is the first, with its successor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from factories import Account, register
from gigforge.kit.deprecation import Deprecation, DeprecationHeadersMiddleware, registry
from gigforge.opportunities.scanning import Scanner
from gigforge.proposals.endpoints import ACCEPT_JOB_DEPRECATED

REMOTIVE_JOB = "1950001"  # a listing of the Remotive sandbox's feed


async def _scanned(app: FastAPI, client: httpx.AsyncClient) -> Account:
    account = await register(client)
    created = await client.post(
        "/api/v1/connections",
        json={"integration": "remotive", "config": {}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    report = await Scanner(app.state.integrations).scan(uuid.UUID(created.json()["id"]))
    assert report.found > 0
    return account


def _assert_deprecation_headers(response: httpx.Response, public_url: str) -> None:
    assert response.headers["Deprecation"] == "@1796256000"  # 2026-12-03T00:00:00Z
    sunset = parsedate_to_datetime(response.headers["Sunset"])
    assert sunset == datetime(2027, 6, 3, tzinfo=UTC)
    assert response.headers["Sunset"].endswith(" GMT")
    link = response.headers["Link"]
    assert link.startswith(f"<{public_url}/redoc#tag/proposals/operation/proposals-accept_job>")
    assert 'rel="deprecation"' in link


async def test_the_deprecated_accept_answers_with_deprecation_sunset_and_link(
    sandbox_app: FastAPI,
) -> None:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await _scanned(sandbox_app, client)
        accepted = await client.post(
            "/api/v1/jobs/accept",
            json={
                "platform": "remotive",
                "external_job_id": REMOTIVE_JOB,
                "custom_proposal": "Happy to help",
            },
            headers=account.headers,
        )
        missing = await client.post(
            "/api/v1/jobs/accept",
            json={"platform": "remotive", "external_job_id": "nope"},
            headers=account.headers,
        )
        current = await client.get("/api/v1/proposals", headers=account.headers)
    public_url = sandbox_app.state.settings.public_url
    assert accepted.status_code == 201, accepted.text
    _assert_deprecation_headers(accepted, public_url)
    # Errors of a deprecated operation say so too; other operations say nothing.
    assert missing.status_code == 404
    _assert_deprecation_headers(missing, public_url)
    assert current.status_code == 200
    assert "Deprecation" not in current.headers
    assert "Sunset" not in current.headers


async def test_the_successor_takes_the_same_platform_reference(sandbox_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=sandbox_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await _scanned(sandbox_app, client)
        reference = {"platform": "Remotive", "external_job_id": REMOTIVE_JOB}
        drafted = await client.post(
            "/api/v1/proposals", json=reference | {"text": "Happy to help"}, headers=account.headers
        )
        accepted = await client.post(
            "/api/v1/jobs/accept",
            json=reference | {"custom_proposal": "Happy to help"},
            headers=account.headers,
        )
        unknown = await client.post(
            "/api/v1/proposals",
            json={"platform": "remotive", "external_job_id": "nope", "text": "x"},
            headers=account.headers,
        )
        half = await client.post(
            "/api/v1/proposals", json={"platform": "remotive"}, headers=account.headers
        )
        both = await client.post(
            "/api/v1/proposals",
            json=reference | {"opportunity_id": drafted.json()["opportunity_id"]},
            headers=account.headers,
        )
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["opportunity_id"] == accepted.json()["opportunity_id"]
    assert drafted.json()["versions"][0]["text"] == accepted.json()["versions"][0]["text"]
    assert unknown.status_code == 404
    assert half.status_code == 422
    assert both.status_code == 422


async def test_openapi_flags_deprecated_operations_and_only_them(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        schema = (await client.get("/openapi.json")).json()
    operation = schema["paths"]["/api/v1/jobs/accept"]["post"]
    assert operation["deprecated"] is True
    assert operation["operationId"] == "proposals-accept_job"  # the Link's anchor names it
    assert operation["x-deprecation"] == {
        "deprecated_at": "2026-12-03T00:00:00+00:00",
        "sunset": "2027-06-03T00:00:00+00:00",
        "successor": "POST /api/v1/proposals",
        "link": "/redoc#tag/proposals/operation/proposals-accept_job",
    }
    assert "POST /api/v1/proposals" in operation["description"]
    flagged = {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, body in operations.items()
        if body.get("deprecated")
    }
    assert flagged == {"POST /api/v1/jobs/accept"}
    assert registry["POST /api/v1/jobs/accept"] is ACCEPT_JOB_DEPRECATED


BUDGET_DEPRECATED = Deprecation(
    name="Listing.budget (test)",
    deprecated_at=datetime(2026, 1, 1, tzinfo=UTC),
    sunset_at=datetime(2026, 8, 1, tzinfo=UTC),
    successor="budget_minor",
    link="https://gigforge.example/docs/api#budget",
)


class Listing(BaseModel):
    budget: float | None = BUDGET_DEPRECATED.field(description="The budget in major units.")
    budget_minor: int | None = None


def _field_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(DeprecationHeadersMiddleware, base_url="https://gigforge.example")

    @app.post("/listings")
    async def create(listing: Listing, request: Request) -> Listing:
        if "budget" in listing.model_fields_set:
            BUDGET_DEPRECATED.mark(request)
        return listing

    return app


async def test_deprecated_fields_are_flagged_in_the_schema_and_announced_when_used() -> None:
    app = _field_app()
    schema = app.openapi()["components"]["schemas"]["Listing"]
    budget = schema["properties"]["budget"]
    assert budget["deprecated"] is True
    assert budget["x-deprecation"]["successor"] == "budget_minor"
    assert "use budget_minor" in budget["description"]
    assert "deprecated" not in schema["properties"]["budget_minor"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        old = await client.post("/listings", json={"budget": 12.5})
        new = await client.post("/listings", json={"budget_minor": 1250})
    assert old.headers["Deprecation"] == "@1767225600"
    assert old.headers["Link"] == (
        '<https://gigforge.example/docs/api#budget>; rel="deprecation"; type="text/html"'
    )
    assert "Deprecation" not in new.headers


def test_the_policy_guarantees_six_months_of_support() -> None:
    announced = datetime(2026, 12, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="supported for six months"):
        Deprecation(
            name="too soon",
            deprecated_at=announced,
            sunset_at=announced + timedelta(days=90),
            successor="x",
            link="/redoc",
        )
    assert "too soon" not in registry
