"""Endpoints through the API: the SSRF guard at registration and again at every send (DNS
names resolving to private addresses, rebinding, redirects), validation, secrets kept out of
answers and of the attempt log, resend with the same webhook-id, recover and test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from webhook_receiver import Reply, receiving
from webhooks_support import account_with_endpoint, create_endpoint, publish_submitted, run_tasks

from factories import AppFactory, register
from ssrf_support import TableResolver, listening

PRIVATE_URLS = [
    "http://127.0.0.1/hooks",
    "http://10.1.2.3/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8080/hooks",
    "http://[fd00::1]/hooks",
    "http://[fc00::5]/hooks",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
async def test_registration_refuses_private_addresses_with_a_clear_problem(
    client: httpx.AsyncClient, url: str
) -> None:
    account = await register(client)
    response = await client.post(
        "/api/v1/webhooks/endpoints", json={"url": url}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("destination-not-allowed")
    assert "not allowed" in response.json()["detail"]


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "fd12::1"])
async def test_a_name_resolving_to_a_private_address_is_refused_at_registration(
    app: FastAPI, client: httpx.AsyncClient, address: str
) -> None:
    app.state.integrations.runtime.guard.resolver = TableResolver(
        {"hooks.example.com": [[address]]}
    )
    account = await register(client)
    response = await client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": "https://hooks.example.com/in"},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("destination-not-allowed")


async def test_a_name_that_rebinds_to_loopback_is_refused_at_send_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with listening() as target:
        resolver = TableResolver({"hooks.example.com": [["93.184.216.34"], ["127.0.0.1"]]})
        app.state.integrations.runtime.guard.resolver = resolver
        account, endpoint = await account_with_endpoint(
            client, f"http://hooks.example.com:{target.port}/in"
        )
        await publish_submitted(app, account.user_id)
        await run_tasks(app)
        assert not target.contacted
    attempts = (
        await client.get(
            f"/api/v1/webhooks/endpoints/{endpoint.id}/attempts", headers=account.headers
        )
    ).json()["attempts"]
    assert attempts[0]["succeeded"] is False
    assert attempts[0]["status_code"] is None
    assert "refused" in attempts[0]["error"]


async def test_a_redirect_is_not_followed(app_factory: AppFactory) -> None:
    async with listening() as inner, listening() as outer:
        outer.status = 302
        outer.location = f"http://127.0.0.1:{inner.port}/internal"
        app = await app_factory(allowed_private_hosts=[f"127.0.0.1:{outer.port}"])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            account, endpoint = await account_with_endpoint(
                client, f"http://127.0.0.1:{outer.port}/hooks"
            )
            await publish_submitted(app, account.user_id)
            await run_tasks(app)
            attempts = (
                await client.get(
                    f"/api/v1/webhooks/endpoints/{endpoint.id}/attempts",
                    headers=account.headers,
                )
            ).json()["attempts"]
        assert outer.contacted
        assert not inner.contacted
    assert attempts[0]["status_code"] == 302
    assert attempts[0]["error"] == "HTTP 302: redirects are not followed"


@pytest.fixture
async def open_app(app_factory: AppFactory) -> FastAPI:
    return await app_factory(allowed_private_hosts=["127.0.0.1/32"])


@pytest.fixture
async def open_client(open_app: FastAPI) -> httpx.AsyncClient:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=open_app), base_url="http://testserver"
    ) as client:
        yield client  # type: ignore[misc]


async def test_the_attempt_log_keeps_secrets_out_of_response_excerpts(
    open_app: FastAPI, open_client: httpx.AsyncClient
) -> None:
    token = "s3cr3t-token-value-42"
    async with receiving() as receiver:
        account, endpoint = await account_with_endpoint(
            open_client, receiver.url, headers={"Authorization": f"Bearer {token}"}
        )
        receiver.script.append(
            Reply(200, f"echo {endpoint.secret} and {token} api_key=abcdef123456".encode())
        )
        await publish_submitted(open_app, account.user_id)
        await run_tasks(open_app)
    assert receiver.received[0].headers["authorization"] == f"Bearer {token}"
    attempts = (
        await open_client.get(
            f"/api/v1/webhooks/endpoints/{endpoint.id}/attempts", headers=account.headers
        )
    ).text
    assert endpoint.secret not in attempts
    assert endpoint.secret.removeprefix("whsec_") not in attempts
    assert token not in attempts
    assert "abcdef123456" not in attempts
    assert "[REDACTED]" in attempts
    listed = await open_client.get("/api/v1/webhooks/endpoints", headers=account.headers)
    assert endpoint.secret not in listed.text
    assert token not in listed.text
    assert listed.json()["items"][0]["header_names"] == ["authorization"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"headers": {"webhook-signature": "x"}}, "webhook-header-reserved"),
        ({"headers": {"Content-Type": "text/plain"}}, "webhook-header-reserved"),
        ({"headers": {"X-Ok": "a\r\nInjected: 1"}}, "webhook-header-invalid"),
        ({"event_types": ["proposal.nonesuch"]}, "webhook-event-filter-invalid"),
        ({"event_types": ["nonesuch.*"]}, "webhook-event-filter-invalid"),
        ({"url": "ftp://example.com/x"}, "url-scheme-not-allowed"),
    ],
)
async def test_invalid_endpoints_are_refused(
    open_client: httpx.AsyncClient, fields: dict[str, object], code: str
) -> None:
    account = await register(open_client)
    response = await open_client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": "http://127.0.0.1:9/hooks", **fields},
        headers=account.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith(code)


async def test_crud_and_another_user_s_endpoint_is_not_found(
    open_client: httpx.AsyncClient,
) -> None:
    account, endpoint = await account_with_endpoint(
        open_client, "http://127.0.0.1:9/hooks", event_types=["proposal.*"]
    )
    assert endpoint.body["event_types"] == ["proposal.*"]
    patched = await open_client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint.id}",
        json={"enabled": False, "rate_limit": 5, "description": "CRM"},
        headers=account.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"] == "disabled by you"
    assert "secret" not in patched.json()
    other = await register(open_client)
    for method in ("GET", "PATCH", "DELETE"):
        response = await open_client.request(
            method,
            f"/api/v1/webhooks/endpoints/{endpoint.id}",
            json={} if method == "PATCH" else None,
            headers=other.headers,
        )
        assert response.status_code == 404
    test = await open_client.post(
        f"/api/v1/webhooks/endpoints/{endpoint.id}/test", headers=account.headers
    )
    assert test.status_code == 409
    deleted = await open_client.delete(
        f"/api/v1/webhooks/endpoints/{endpoint.id}", headers=account.headers
    )
    assert deleted.status_code == 204
    gone = await open_client.get(
        f"/api/v1/webhooks/endpoints/{endpoint.id}", headers=account.headers
    )
    assert gone.status_code == 404


async def test_test_resend_and_recover_keep_the_webhook_id(
    open_app: FastAPI, open_client: httpx.AsyncClient
) -> None:
    async with receiving(*[Reply(500)] * 8) as receiver:
        account, endpoint = await account_with_endpoint(open_client, receiver.url)
        test = await open_client.post(
            f"/api/v1/webhooks/endpoints/{endpoint.id}/test", headers=account.headers
        )
        assert test.status_code == 202
        [event_id] = await publish_submitted(open_app, account.user_id)
        await run_tasks(open_app)
        assert len(receiver.received) == 2
        resent = await open_client.post(
            f"/api/v1/webhooks/messages/{event_id}/resend", headers=account.headers
        )
        assert resent.status_code == 202
        await run_tasks(open_app)
        assert receiver.received[-1].msg_id == resent.json()["deliveries"][0]["msg_id"]
        assert [item.msg_id for item in receiver.received].count(receiver.received[-1].msg_id) == 2
        missing = await open_client.post(
            "/api/v1/webhooks/messages/01939a2e-5f62-7045-8c76-33b5ea260ff4/resend",
            headers=account.headers,
        )
        assert missing.status_code == 404
        # Fail both deliveries for good, then recover them.
        async with open_app.state.database.sessionmaker() as session:
            from sqlalchemy import text

            await session.execute(text("UPDATE webhook_deliveries SET state = 'failed'"))
            await session.commit()
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        recovered = await open_client.post(
            f"/api/v1/webhooks/endpoints/{endpoint.id}/recover",
            params={"since": since},
            headers=account.headers,
        )
        assert recovered.status_code == 202
        assert recovered.json() == {"resent": 2}
        before = len(receiver.received)
        await run_tasks(open_app)
        assert len(receiver.received) == before + 2
    types = {item.body.count(b"webhook.test") for item in receiver.received}
    assert types == {0, 1}
    second = await create_endpoint(open_client, account, receiver.url)
    assert second.secret != endpoint.secret
