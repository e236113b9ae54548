"""OpenAI -> Anthropic -> local, in sandbox mode, through the real connections."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import AppFactory, register
from gigforge.ai.models import AIUsage
from gigforge.ai.router import Budgets, Task
from gigforge.integrations.anthropic.sandbox import SANDBOX_API_KEY as ANTHROPIC_KEY
from gigforge.integrations.framework import ChatMessage
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY as OPENAI_KEY


async def _no_wait(delay: float) -> None:
    return None


async def test_openai_down_anthropic_answers_and_ollama_serves_summaries(
    app_factory: AppFactory,
) -> None:
    app = await app_factory(sandbox=True)
    context = app.state.integrations
    context.runtime.sleep = _no_wait
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        account = await register(client)
        for priority, (integration, config) in enumerate(
            (
                ("openai", {"api_key": OPENAI_KEY}),
                ("anthropic", {"api_key": ANTHROPIC_KEY}),
                ("ollama", {}),
            )
        ):
            created = await client.post(
                "/api/v1/connections",
                json={"integration": integration, "config": config, "priority": priority},
                headers=account.headers,
            )
            assert created.status_code == 201, created.text
    app.state.sandboxes["openai"].faults.error_rate = 1.0
    budgets = Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=10_000_000)
    async with context.database.sessionmaker() as session:
        assert isinstance(session, AsyncSession)
        answer = await app.state.router.complete(
            session,
            uuid.UUID(account.user_id),
            context=context,
            task=Task.proposal,
            messages=[ChatMessage(role="user", content="Draft a proposal for a REST API")],
            budgets=budgets,
        )
        assert answer.integration == "anthropic"
        assert answer.model.startswith("claude-haiku-4-5")
        assert {label.split(":")[0] for label, _ in answer.skipped} == {"openai"}
        summary = await app.state.router.complete(
            session,
            uuid.UUID(account.user_id),
            context=context,
            task=Task.summary,
            messages=[ChatMessage(role="user", content="Summarise: build a REST API")],
            budgets=budgets,
        )
        assert summary.integration == "ollama"
        assert summary.cost_micro_usd == 0
    await app.state.router.close()
    async with context.database.sessionmaker() as session:
        recorded = await session.scalars(select(AIUsage.integration).order_by(AIUsage.created_at))
        assert list(recorded) == ["anthropic", "ollama"]
