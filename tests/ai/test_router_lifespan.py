"""The app's shutdown writes the usage its process's model router has not written yet."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from factories import AppFactory, register
from gigforge.ai import usage
from gigforge.ai.models import AIUsage
from gigforge.ai.router import Budgets, Task
from gigforge.integrations.framework import ChatMessage
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY


async def test_shutting_the_app_down_writes_the_usage_still_waiting(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage, "FLUSH_SECONDS", 3600.0)
    app = await app_factory(sandbox=True, embedded_worker=False)
    context = app.state.integrations
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            account = await register(client)
            created = await client.post(
                "/api/v1/connections",
                json={"integration": "openai", "config": {"api_key": SANDBOX_API_KEY}},
                headers=account.headers,
            )
            assert created.status_code == 201, created.text
        async with context.database.sessionmaker() as session:
            answer = await app.state.router.complete(
                session,
                uuid.UUID(account.user_id),
                context=context,
                task=Task.summary,
                messages=[ChatMessage(role="user", content="Summarise: build a REST API")],
                budgets=Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=10_000_000),
            )
            assert await session.scalar(select(func.count()).select_from(AIUsage)) == 0
    async with context.database.sessionmaker() as session:
        recorded = list(await session.scalars(select(AIUsage.cost_micro_usd)))
    assert recorded == [answer.cost_micro_usd]
