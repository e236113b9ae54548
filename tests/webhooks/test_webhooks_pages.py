"""The dashboard's webhook pages without a browser: a disabled endpoint is a notice on every
page, form errors are messages on the page, and another user's endpoint is a 404 page."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI
from webhooks_support import create_endpoint

from factories import register
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.webhooks.delivery import disable
from gigforge.webhooks.models import WebhookEndpoint
from web_support import csrf_of, sign_in


async def test_an_endpoint_disabled_by_failures_is_a_notice_on_the_dashboard(
    sandbox_app: FastAPI, web: httpx.AsyncClient
) -> None:
    account = await register(web)
    await sign_in(web, account)
    page = await web.get("/settings/webhooks")
    added = await web.post(
        "/settings/webhooks",
        data={"url": "https://192.168.1.20/hooks", "csrf_token": csrf_of(page.text)},
    )
    assert added.status_code == 422
    assert "not allowed" in added.text
    assert "Traceback" not in added.text
    endpoint = await create_endpoint(web, account, "https://hooks.invalid/in")
    async with unit_of_work(sandbox_app.state.database) as session:
        row = await session.get(WebhookEndpoint, uuid.UUID(endpoint.id))
        assert row is not None
        await disable(session, row, "the endpoint answered 410 Gone", utcnow())
    dashboard = await web.get("/opportunities")
    assert "https://hooks.invalid/in was disabled: the endpoint answered 410 Gone" in dashboard.text
    assert f"/settings/webhooks/{endpoint.id}" in dashboard.text
    detail = await web.get(f"/settings/webhooks/{endpoint.id}")
    assert detail.status_code == 200
    assert "This endpoint is disabled: the endpoint answered 410 Gone" in detail.text
    assert endpoint.secret not in detail.text

    other = await register(web)
    await web.post("/logout", data={"csrf_token": csrf_of(dashboard.text)})
    await sign_in(web, other)
    foreign = await web.get(f"/settings/webhooks/{endpoint.id}")
    assert foreign.status_code == 404
    assert "No such webhook endpoint" in foreign.text
