"""The hourly `oauth.purge_expired` task forgets codes and tokens that can never work again,
and keeps a used refresh token until it expires so its reuse is still caught."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from oauth_support import authorize_code, exchange, refresh, register_app, signed_in
from sqlalchemy import func, select, update

from factories import register
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.kit.task_engine import TaskEngine
from gigforge.kit.tasks import TaskState, enqueue
from gigforge.oauth_server.models import OAuthCode, OAuthToken
from gigforge.oauth_server.tasks import PURGE_TASK
from gigforge.worker import task_registry


async def _count(app: FastAPI, model: type[OAuthCode] | type[OAuthToken]) -> int:
    async with unit_of_work(app.state.database) as session:
        return int((await session.scalar(select(func.count()).select_from(model))) or 0)


async def test_expired_codes_and_dead_tokens_are_purged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    registered = await register_app(client, owner)
    await signed_in(client, owner)
    code, verifier = await authorize_code(client, registered)
    first = (await exchange(client, registered, code, verifier)).json()
    second = (await refresh(client, registered, first["refresh_token"])).json()
    assert await _count(app, OAuthCode) == 1
    assert await _count(app, OAuthToken) == 2

    past = utcnow() - timedelta(seconds=1)
    async with unit_of_work(app.state.database) as session:
        await session.execute(update(OAuthCode).values(expires_at=past))
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.refresh_used_at.is_not(None))
            .values(access_expires_at=past)
        )
        task_id = await enqueue(session, PURGE_TASK)
    assert task_id is not None
    engine = TaskEngine(app.state.database, task_registry())
    assert await engine.run(task_id) is TaskState.done
    assert await _count(app, OAuthCode) == 0
    assert await _count(app, OAuthToken) == 2  # the used refresh token has not expired yet

    async with unit_of_work(app.state.database) as session:
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.refresh_used_at.is_not(None))
            .values(refresh_expires_at=past)
        )
        task_id = await enqueue(session, PURGE_TASK)
    assert task_id is not None
    assert await engine.run(task_id) is TaskState.done
    assert await _count(app, OAuthToken) == 1
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 200
