"""Levels gate automation: an auto-approve rule needs level 1 to be turned on, and does
nothing while the level is not held; `require_level` is the check other domains call."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from certification_support import Clock, install_clock, pass_level
from fastapi import FastAPI

from factories import AppFactory, connect_oauth, grant_certification, register
from gigforge.certifications import rules
from gigforge.certifications.errors import CertificationRequired
from gigforge.certifications.service import certifications as certification_service
from gigforge.kit.db import unit_of_work
from gigforge.opportunities.scanning import Scanner

RULE = "/api/v1/proposals-auto-approve"
ON = {"enabled": True, "max_budget": 1_000_000, "min_score": 0, "max_per_day": 10}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return install_clock(monkeypatch)


async def test_turning_on_auto_approve_needs_level_one(client: httpx.AsyncClient) -> None:
    account = await register(client)
    refused = await client.put(RULE, json=ON, headers=account.headers)
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["type"] == "urn:gigforge:problem:certification-required"
    assert problem["required_level"] == 1
    assert problem["certification_level"] == 0
    assert "auto-approve" in problem["detail"]
    assert (await client.get(RULE, headers=account.headers)).json()["enabled"] is False
    # Turning it off, or saving caps while off, needs nothing.
    off = await client.put(RULE, json=ON | {"enabled": False}, headers=account.headers)
    assert off.status_code == 200

    await pass_level(client, account, 1)
    assert (await client.put(RULE, json=ON, headers=account.headers)).status_code == 200


async def test_require_level_names_the_action_and_the_levels(app: FastAPI) -> None:
    user_id = uuid.uuid4()
    async with unit_of_work(app.state.database) as session:
        assert await certification_service.level_of(session, user_id) == 0
        with pytest.raises(CertificationRequired) as raised:
            await certification_service.require_level(
                session, user_id, rules.AUTONOMOUS_DELIVERY_LEVEL, action="deliver without review"
            )
    assert raised.value.extensions == {"required_level": 2, "certification_level": 0}
    assert "To deliver without review you need certification level 2" in raised.value.detail


async def test_require_level_passes_with_a_higher_level(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    await grant_certification(app, account.user_id, 2)
    async with unit_of_work(app.state.database) as session:
        user_id = uuid.UUID(account.user_id)
        assert await certification_service.level_of(session, user_id) == 2
        await certification_service.require_level(session, user_id, 1, action="auto-approve")
        await certification_service.require_level(session, user_id, 2, action="deliver")


@pytest.fixture
async def sandbox(app_factory: AppFactory) -> FastAPI:
    return await app_factory(sandbox=True)


@pytest.fixture
async def http(sandbox: FastAPI) -> Any:
    transport = httpx.ASGITransport(app=sandbox)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_a_rule_does_nothing_once_the_level_has_expired(
    sandbox: FastAPI, http: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(http)
    await pass_level(http, account, 1)
    assert (await http.put(RULE, json=ON, headers=account.headers)).status_code == 200
    connection_id = await connect_oauth(http, account, "upwork")
    await Scanner(sandbox.state.integrations).scan(uuid.UUID(connection_id))
    jobs = (
        await http.get(
            "/api/v1/jobs/opportunities", params={"platform": "upwork"}, headers=account.headers
        )
    ).json()["opportunities"]

    first = await http.post(
        "/api/v1/proposals",
        json={"opportunity_id": jobs[0]["id"], "text": "Hi"},
        headers=account.headers,
    )
    assert (first.json()["status"], first.json()["auto_approved"]) == ("approved", True)

    clock.advance(rules.VALIDITY + timedelta(seconds=1))
    second = await http.post(
        "/api/v1/proposals",
        json={"opportunity_id": jobs[1]["id"], "text": "Hi"},
        headers=account.headers,
    )
    assert (second.json()["status"], second.json()["auto_approved"]) == ("draft", False)
    # The rule itself is kept as the user set it.
    assert (await http.get(RULE, headers=account.headers)).json()["enabled"] is True
