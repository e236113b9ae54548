"""The sandbox speaks Asana's wire protocol: envelopes, paging, errors, OAuth endpoints."""

from __future__ import annotations

import httpx

from gigforge.integrations.asana.sandbox import SANDBOX_PAT, SEED_PROJECT_GID, AsanaSandbox

AUTH = {"Authorization": f"Bearer {SANDBOX_PAT}"}


def _client(sandbox: AsanaSandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app), base_url="http://s")


async def test_lists_are_compact_and_paged_with_next_page(sandbox: AsanaSandbox) -> None:
    async with _client(sandbox) as client:
        first = (await client.get("/api/1.0/workspaces?limit=1", headers=AUTH)).json()
        assert set(first["data"][0]) == {"gid", "resource_type", "name"}
        offset = first["next_page"]["offset"]
        second = (
            await client.get(f"/api/1.0/workspaces?limit=1&offset={offset}", headers=AUTH)
        ).json()
    assert second["next_page"] is None
    assert second["data"][0]["name"] == "Example Studio"


async def test_errors_use_asanas_envelope(sandbox: AsanaSandbox) -> None:
    async with _client(sandbox) as client:
        unauthorized = await client.get("/api/1.0/workspaces")
        bad_limit = await client.get("/api/1.0/workspaces?limit=500", headers=AUTH)
        missing = await client.get("/api/1.0/tasks/123", headers=AUTH)
    assert unauthorized.status_code == 401
    assert unauthorized.json()["errors"][0]["message"] == "Not Authorized"
    assert bad_limit.status_code == 400
    assert bad_limit.json()["errors"][0]["message"] == "limit: Must be between 1 and 100"
    assert missing.status_code == 404
    assert "help" in missing.json()["errors"][0]


async def test_opt_fields_select_the_fields(sandbox: AsanaSandbox) -> None:
    async with _client(sandbox) as client:
        answer = await client.get(
            f"/api/1.0/projects/{SEED_PROJECT_GID}?opt_fields=notes,modified_at", headers=AUTH
        )
    assert set(answer.json()["data"]) == {"gid", "resource_type", "notes", "modified_at"}


async def test_oauth_code_flow_issues_a_token_the_api_accepts(sandbox: AsanaSandbox) -> None:
    async with _client(sandbox) as client:
        authorize = await client.get(
            "/-/oauth_authorize",
            params={
                "client_id": sandbox.oauth.client_id,
                "redirect_uri": "http://app/callback",
                "response_type": "code",
                "state": "xyz",
            },
        )
        assert authorize.status_code == 302
        code = httpx.URL(authorize.headers["location"]).params["code"]
        token = await client.post(
            "/-/oauth_token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": "http://app/callback",
                "client_id": sandbox.oauth.client_id,
                "client_secret": sandbox.oauth.client_secret,
            },
        )
        access = token.json()["access_token"]
        me = await client.get("/api/1.0/users/me", headers={"Authorization": f"Bearer {access}"})
    assert me.status_code == 200
    assert me.json()["data"]["name"] == "Sandbox Freelancer"


async def test_webhook_without_a_reachable_target_is_refused(sandbox: AsanaSandbox) -> None:
    async with _client(sandbox) as client:
        answer = await client.post(
            "/api/1.0/webhooks",
            json={"data": {"resource": SEED_PROJECT_GID, "target": "https://example.com/h"}},
            headers=AUTH,
        )
    assert answer.status_code == 400
    assert sandbox.store.webhooks == {}
