"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from prometheus_client import generate_latest
from pydantic import BaseModel

from gigforge.kit.deps import DatabaseDep
from gigforge.kit.errors import ServiceUnavailable
from gigforge.kit.metrics import HttpMetrics
from gigforge.kit.problems import problem_responses

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


class DatabaseUnavailable(ServiceUnavailable):
    code = "database-unavailable"
    title = "The database does not answer"


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    """The front page is the dashboard (it sends signed-out visitors to the sign-in page)."""
    return RedirectResponse("/opportunities")


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=problem_responses(DatabaseUnavailable))
async def readyz(database: DatabaseDep) -> Health:
    """The process can serve: the database answers."""
    try:
        await database.ping()
    except Exception as exc:
        raise DatabaseUnavailable() from exc
    return Health(status="ok", checks={"database": "ok"})


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    http_metrics: HttpMetrics = request.app.state.metrics
    body, content_type = http_metrics.render()
    integrations = generate_latest(request.app.state.integrations.runtime.metrics.registry)
    return Response(body + integrations, media_type=content_type)
