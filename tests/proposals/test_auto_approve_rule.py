"""The auto-approve rule over the API: off by default, read back, range-checked, audited."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from factories import grant_certification, register

RULE = "/api/v1/proposals-auto-approve"


async def test_the_rule_is_off_until_set_and_reads_back_what_was_saved(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    await grant_certification(app, account.user_id, 1)
    before = await client.get(RULE, headers=account.headers)
    assert before.status_code == 200
    assert before.json() == {
        "enabled": False,
        "max_budget": 0.0,
        "min_score": 0.9,
        "max_per_day": 0,
    }
    saved = await client.put(
        RULE,
        json={"enabled": True, "max_budget": 1250.5, "min_score": 0.8, "max_per_day": 4},
        headers=account.headers,
    )
    assert saved.status_code == 200, saved.text
    after = await client.get(RULE, headers=account.headers)
    assert after.json() == {
        "enabled": True,
        "max_budget": 1250.5,
        "min_score": 0.8,
        "max_per_day": 4,
    }
    audit = await client.get(
        "/api/v1/audit", params={"action": "proposal.auto_approve_changed"}, headers=account.headers
    )
    [record] = audit.json()["items"]
    assert record["data"]["max_budget_minor"] == 125050
    assert record["data"]["was_enabled"] is False


async def test_saving_the_same_caps_again_records_no_new_change(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    await grant_certification(app, account.user_id, 1)
    rule = {"enabled": True, "max_budget": 100, "min_score": 0.5, "max_per_day": 1}
    for _ in range(2):
        assert (await client.put(RULE, json=rule, headers=account.headers)).status_code == 200
    audit = await client.get(
        "/api/v1/audit", params={"action": "proposal.auto_approve_changed"}, headers=account.headers
    )
    assert audit.json()["total"] == 1


async def test_a_cap_with_more_decimals_than_cents_is_a_422_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    refused = await client.put(
        RULE,
        json={"enabled": True, "max_budget": 10.005, "min_score": 0.5, "max_per_day": 1},
        headers=account.headers,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert "USD amounts have at most 2 decimals." in refused.json()["detail"]
    assert (await client.get(RULE, headers=account.headers)).json()["enabled"] is False
