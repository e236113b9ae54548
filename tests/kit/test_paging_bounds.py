"""Every paged endpoint answers an offset or limit out of range with a 422 problem, never
with an overflow inside the database driver."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from factories import register
from gigforge.kit.pagination import MAX_OFFSET, PageParams


def _paged_paths(app: FastAPI) -> list[str]:
    """GET operations of the OpenAPI document that take both `limit` and `offset`."""
    paths = []
    for path, operations in app.openapi()["paths"].items():
        names = {param["name"] for param in operations.get("get", {}).get("parameters", [])}
        if {"limit", "offset"} <= names:
            paths.append(re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path))
    return paths


async def test_an_offset_beyond_64_bits_is_a_422_on_every_paged_endpoint(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    paths = _paged_paths(app)
    assert "/api/v1/jobs/opportunities" in paths
    assert "/api/v1/audit" in paths
    for path in paths:
        for query in ("offset=9223372036854775808", f"offset={MAX_OFFSET + 1}", "limit=0"):
            response = await client.get(f"{path}?{query}", headers=account.headers)
            assert response.status_code == 422, (path, query, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["loc"][0] == "query"


async def test_the_largest_offset_allowed_gives_an_empty_page(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.get(
        f"/api/v1/jobs/opportunities?offset={MAX_OFFSET}", headers=account.headers
    )
    assert response.status_code == 200
    assert response.json()["opportunities"] == []


def test_page_params_refuse_out_of_range_values_built_in_code() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1000000000"):
        PageParams(offset=2**63)
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        PageParams(limit=101)
