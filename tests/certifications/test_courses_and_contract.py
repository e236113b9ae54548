"""Courses over the API, the shipped content, and seed 002's paths and field names in OpenAPI."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from factories import register
from gigforge.certifications import catalog

SEED_PATHS = {
    "/api/v1/users/me/certifications": "get",
    "/api/v1/certifications/courses/{level}": "get",
    "/api/v1/certifications/exams/{level}/start": "post",
    "/api/v1/certifications/exams/{level}/submit": "post",
    "/api/v1/certifications/exams/{level}/results": "get",
    "/api/v1/certifications/renew": "post",
}


def test_every_level_ships_modules_and_a_bank_of_at_least_twenty_questions() -> None:
    courses = catalog.courses()
    assert list(courses) == [1, 2, 3]
    for level, course in courses.items():
        assert 3 <= len(course.modules) <= 5
        assert len(course.questions) >= 20
        for module in course.modules:
            text = module.markdown()
            assert text.startswith(f"# {module.title}")
            assert len(text.split()) >= 400, module.module_id
            tied = [q for q in course.questions if q.module_id == module.module_id]
            assert len(tied) >= 3, module.module_id
        for question in course.questions:
            assert question.question_id.startswith(f"L{level}-")
            assert len(question.options) >= 3


async def test_a_course_lists_its_modules_with_the_seed_fields(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for level in (1, 2, 3):
        response = await client.get(
            f"/api/v1/certifications/courses/{level}", headers=account.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["level"] == level
        assert body["requires_level"] == level - 1
        for number, module in enumerate(body["modules"], start=1):
            assert {"module_id", "title", "duration_hours", "content_url"} <= set(module)
            assert module["module_id"] == f"{level}.{number}"
            assert module["content_url"] == f"/courses/level{level}/module{number}"
            assert module["duration_hours"] > 0


async def test_a_module_is_served_as_markdown(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.get(
        "/api/v1/certifications/courses/1/modules/1.1", headers=account.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["markdown"].startswith("# Marketplace terms and official channels")
    assert "CAPTCHA" in body["markdown"]
    missing = await client.get(
        "/api/v1/certifications/courses/1/modules/1.9", headers=account.headers
    )
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("unknown-course-module")


async def test_courses_need_a_signed_in_caller(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/certifications/courses/1")).status_code == 401


async def test_the_seed_paths_are_in_the_openapi_document_with_the_seed_fields(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    document = (await client.get("/openapi.json")).json()
    for path, method in SEED_PATHS.items():
        assert method in document["paths"].get(path, {}), path
    schemas = document["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    course = document["paths"]["/api/v1/certifications/courses/{level}"]["get"]
    ref = course["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    course_schema = ref.rsplit("/", 1)[1]
    assert {"level", "modules"} <= fields(course_schema)
    item = schemas[course_schema]["properties"]["modules"]["items"]["$ref"].rsplit("/", 1)[1]
    assert {"module_id", "title", "duration_hours", "content_url"} <= fields(item)
    assert "certification_level" in fields("UserRead")
    assert "certification_level" in fields("MyCertifications")
    for path in SEED_PATHS:
        assert re.fullmatch(r"/api/v1/[a-z/{}_-]+", path)


async def test_new_api_keys_can_be_limited_to_reading_certifications(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    created = await client.post(
        "/api/v1/api-keys",
        json={"name": "reader", "scopes": ["certifications:read"]},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert (await client.get("/api/v1/users/me/certifications", headers=key)).status_code == 200
    refused = await client.post("/api/v1/certifications/exams/1/start", headers=key)
    assert refused.status_code == 403
