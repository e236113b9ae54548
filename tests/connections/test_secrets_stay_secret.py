"""Credentials given to a connection never come back out: not in responses, logs or events."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from factories import AppFactory, register, stored_events
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY
from gigforge.integrations.stripe.sandbox import SANDBOX_SECRET_KEY

WEBHOOK_SECRET = "whsec_planted_webhook_secret_0123456789"


@pytest.mark.usefixtures("restore_logging")
async def test_planted_credentials_never_leave_the_vault(
    app_factory: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await app_factory(sandbox=True, log_level="DEBUG")
    bodies: list[str] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await register(client)
        headers = account.headers
        for integration, config in (
            ("openai", {"api_key": SANDBOX_API_KEY}),
            ("stripe", {"secret_key": SANDBOX_SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}),
        ):
            created = await client.post(
                "/api/v1/connections",
                json={"integration": integration, "config": config},
                headers=headers,
            )
            assert created.status_code == 201, created.text
            bodies.append(created.text)
            bodies.append(
                (
                    await client.post(
                        f"/api/v1/connections/{created.json()['id']}/test", headers=headers
                    )
                ).text
            )
        start = await client.get(
            "/api/v1/connections/upwork/authorize", params={"redirect": "false"}, headers=headers
        )
        url = urlsplit(start.json()["authorize_url"])
        consent = await client.get(f"{url.path}?{url.query}")
        back = parse_qs(urlsplit(consent.headers["location"]).query)
        callback = await client.get(
            "/api/v1/connections/upwork/callback",
            params={"code": back["code"][0], "state": back["state"][0]},
            headers=headers,
        )
        bodies.append(callback.text)
        bodies.append((await client.get("/api/v1/connections", headers=headers)).text)
        bodies.append((await client.get("/api/v1/audit", headers=headers)).text)

    oauth = app.state.sandboxes["upwork"].oauth
    planted = [
        SANDBOX_API_KEY,
        SANDBOX_SECRET_KEY,
        WEBHOOK_SECRET,
        back["code"][0],
        *oauth.access_tokens,
        *oauth.refresh_tokens,
    ]
    logs = capsys.readouterr().err
    event_text = json.dumps([event.payload for event in await stored_events(app)], default=str)
    assert "integration.call" in logs
    for secret in planted:
        for where, text in (
            ("responses", "\n".join(bodies)),
            ("logs", logs),
            ("events", event_text),
        ):
            assert secret not in text, f"{secret[:10]}... leaked into {where}"
