"""Seed 002's job and agent paths are in the OpenAPI document, with the seed's field names."""

from __future__ import annotations

from typing import Any

import httpx

SEED_PATHS = {
    "/api/v1/jobs/{job_id}": "get",
    "/api/v1/jobs/{job_id}/tasks": "get",
    "/api/v1/jobs/{job_id}/deliverables": "get",
    "/api/v1/jobs/{job_id}/approve": "post",
    "/api/v1/jobs/{job_id}/request-revision": "post",
    "/api/v1/jobs/{job_id}/deliver": "post",
    "/api/v1/jobs": "get",
    "/api/v1/agents/available": "get",
    "/api/v1/agents/task/assign": "post",
    "/api/v1/agents/task/{task_id}/status": "get",
    "/api/v1/agents/task/{task_id}/retry": "post",
}


def _schema(document: dict[str, Any], reference: str) -> dict[str, Any]:
    return dict(document["components"]["schemas"][reference.rsplit("/", 1)[-1]])


async def test_the_seed_paths_are_in_the_openapi_document_with_the_seed_fields(
    http: httpx.AsyncClient,
) -> None:
    document = (await http.get("/openapi.json")).json()
    for path, method in SEED_PATHS.items():
        assert method in document["paths"].get(path, {}), path

    available = document["paths"]["/api/v1/agents/available"]["get"]
    listed = _schema(
        document, available["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
    agent = _schema(document, listed["properties"]["agents"]["items"]["$ref"])
    assert {"agent_id", "name", "capabilities", "average_quality_score", "available"} <= set(
        agent["properties"]
    )

    assign = document["paths"]["/api/v1/agents/task/assign"]["post"]
    body = _schema(document, assign["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert {"job_id", "agent_id", "task_description", "requirements"} <= set(body["properties"])

    revision = document["paths"]["/api/v1/jobs/{job_id}/request-revision"]["post"]
    feedback = _schema(
        document, revision["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert feedback["required"] == ["feedback"]

    job = document["paths"]["/api/v1/jobs/{job_id}"]["get"]
    read = _schema(
        document, job["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
    # GraphQL's Job type names these fields (seed 002), in the REST API's snake case.
    assert {"id", "title", "platform", "budget", "deadline", "status", "tasks", "progress"} <= set(
        read["properties"]
    )


async def test_the_job_states_are_the_seeds(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    states = document["components"]["schemas"]["JobStatus"]["enum"]
    assert states == [
        "pending",
        "active",
        "in_progress",
        "review",
        "delivered",
        "completed",
        "cancelled",
    ]
