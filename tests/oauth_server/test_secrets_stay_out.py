"""Client secrets, codes and tokens appear only in the one response that hands them out: not
in the logs, the audit log, the events, nor any later response."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from oauth_support import authorize_code, exchange, refresh, register_app, signed_in
from sqlalchemy import select

from factories import register, stored_events
from gigforge.audit.models import AuditRecord
from gigforge.kit.db import unit_of_work


async def test_secrets_and_tokens_stay_out_of_logs_audit_events_and_listings(
    app: FastAPI, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = await register(client)
    registered = await register_app(client, owner)
    await signed_in(client, owner)
    code, verifier = await authorize_code(client, registered)
    tokens = (await exchange(client, registered, code, verifier)).json()
    rotated = (await refresh(client, registered, tokens["refresh_token"])).json()
    await refresh(client, registered, tokens["refresh_token"])  # reuse: revokes the grant
    auth = (registered.client_id, registered.client_secret)
    await client.post("/oauth/introspect", data={"token": rotated["access_token"]}, auth=auth)
    await client.post("/oauth/revoke", data={"token": rotated["refresh_token"]}, auth=auth)
    secrets = [
        registered.client_secret,
        code,
        verifier,
        tokens["access_token"],
        tokens["refresh_token"],
        rotated["access_token"],
        rotated["refresh_token"],
    ]

    listings = [
        (await client.get("/api/v1/oauth/apps", headers=owner.headers)).text,
        (await client.get(f"/api/v1/oauth/apps/{registered.id}", headers=owner.headers)).text,
        (await client.get("/api/v1/oauth/authorizations", headers=owner.headers)).text,
        (await client.get("/settings/developer-apps")).text,
        (await client.get("/settings/authorized-apps")).text,
    ]
    async with unit_of_work(app.state.database) as session:
        audit = json.dumps(
            [record.data for record in (await session.scalars(select(AuditRecord))).all()]
        )
    events = json.dumps([event.payload for event in await stored_events(app, "oauth.")])
    logs = capsys.readouterr().err
    assert "/oauth/token" in logs
    for secret in secrets:
        assert secret is not None
        for where, text in (
            ("logs", logs),
            ("audit", audit),
            ("events", events),
            *[("listing", t) for t in listings],
        ):
            assert secret not in text, f"{secret[:8]}... leaked into the {where}"
