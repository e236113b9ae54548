"""`gigforge serve --sandbox`: every sandbox mounted, and connections made against them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from factories import AppFactory, register
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.integrations.stripe.sandbox import SANDBOX_SECRET_KEY

CONNECTIONS = "/api/v1/connections"


async def test_sandbox_mode_connects_by_key_and_by_oauth(app_factory: AppFactory) -> None:
    app = await app_factory(sandbox=True)
    assert {"freelancer", "upwork", "openai", "stripe", "remoteok"} <= set(app.state.sandboxes)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await register(client)

        openai = await client.post(
            CONNECTIONS,
            json={"integration": "openai", "config": {"api_key": SANDBOX_API_KEY}},
            headers=account.headers,
        )
        assert openai.status_code == 201, openai.text
        assert openai.json()["base_url"].endswith("/sandbox/openai")
        stripe = await client.post(
            CONNECTIONS,
            json={
                "integration": "stripe",
                "config": {"secret_key": SANDBOX_SECRET_KEY, "webhook_secret": "whsec_sandbox"},
            },
            headers=account.headers,
        )
        assert stripe.status_code == 201, stripe.text
        assert "secret_key" not in stripe.json()["config"]

        start = await client.get(
            f"{CONNECTIONS}/upwork/authorize",
            params={"redirect": "false"},
            headers=account.headers,
        )
        assert start.status_code == 200, start.text
        authorize = urlsplit(start.json()["authorize_url"])
        assert authorize.path == "/sandbox/upwork/ab/account-security/oauth2/authorize"
        consent = await client.get(f"{authorize.path}?{authorize.query}")
        assert consent.status_code == 302
        back = parse_qs(urlsplit(consent.headers["location"]).query)
        callback = await client.get(
            f"{CONNECTIONS}/upwork/callback",
            params={"code": back["code"][0], "state": back["state"][0]},
            headers=account.headers,
        )
        assert callback.status_code == 200, callback.text
        tested = await client.post(
            f"{CONNECTIONS}/{callback.json()['id']}/test", headers=account.headers
        )
        assert tested.status_code == 200, tested.text
        assert tested.json()["ok"] is True
