"""The model router against sandboxed providers: choice, budgets, fallback, cache, masking."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from factories import register
from gigforge.ai.models import AIUsage
from gigforge.ai.router import (
    BudgetExceeded,
    Budgets,
    ModelOffer,
    NoModelAvailable,
    Router,
    Task,
)
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.integrations.framework import ChatMessage, IntegrationRuntime, Registry
from gigforge.integrations.openai import OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, OpenAISandbox, create_sandbox
from gigforge.integrations.template_writer import TemplateWriterConnector
from gigforge.kit.clock import utcnow

PRIMARY = "http://primary.openai.test"
BACKUP = "http://backup.openai.test"
GENEROUS = Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=100_000_000)
CATALOG = (
    ModelOffer("openai", "gpt-4o", 2_500_000, 10_000_000, 2_500, 0.9),
    ModelOffer("openai", "gpt-4o-mini", 150_000, 600_000, 1_500, 0.78),
    ModelOffer("openai", "gpt-4.1-mini", 10_000, 10_000, 1_000, 0.5),  # cheap, not good enough
)


async def _no_wait(delay: float) -> None:
    return None


@pytest.fixture
def sandboxes(app: FastAPI) -> dict[str, OpenAISandbox]:
    primary, backup = create_sandbox(), create_sandbox()
    context: IntegrationContext = app.state.integrations
    context.registry = Registry([OpenAIConnector, TemplateWriterConnector])
    context.runtime = IntegrationRuntime(
        sleep=_no_wait,
        transports={
            PRIMARY: httpx.ASGITransport(app=primary.app),
            BACKUP: httpx.ASGITransport(app=backup.app),
        },
    )
    return {"primary": primary, "backup": backup}


async def _user_with_openai(
    client: httpx.AsyncClient, *bases: str, name: str = "Ada Lovelace"
) -> tuple[uuid.UUID, dict[str, str]]:
    account = await register(client, full_name=name)
    for priority, base in enumerate(bases):
        created = await client.post(
            "/api/v1/connections",
            json={
                "integration": "openai",
                "name": f"openai-{priority}",
                "base_url": base,
                "priority": priority,
                "config": {"api_key": SANDBOX_API_KEY},
            },
            headers=account.headers,
        )
        assert created.status_code == 201, created.text
    return uuid.UUID(account.user_id), account.headers


def _ask(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def _chat_bodies(sandbox: OpenAISandbox) -> list[dict]:
    return [r.body for r in sandbox.requests if r.path.endswith("/chat/completions")]


async def test_the_cheapest_adequate_model_answers(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY)
    answer = await Router(CATALOG).complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.proposal,
        messages=_ask("Draft a short proposal"),
        budgets=GENEROUS,
    )
    assert answer.model.startswith("gpt-4o-mini")
    assert [body["model"] for body in _chat_bodies(sandboxes["primary"])] == ["gpt-4o-mini"]
    assert answer.cost_micro_usd > 0
    assert answer.cached is False


async def test_a_request_over_the_task_cap_is_refused_before_any_call(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY)
    with pytest.raises(BudgetExceeded, match="cap for one proposal"):
        await Router(CATALOG).complete(
            session,
            user_id,
            context=app.state.integrations,
            task=Task.proposal,
            messages=_ask("x " * 4000),
            budgets=Budgets(per_task_micro_usd=10, monthly_micro_usd=10**9),
        )
    assert _chat_bodies(sandboxes["primary"]) == []


async def test_a_spent_monthly_budget_refuses(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY)
    session.add(
        AIUsage(
            user_id=user_id,
            task="proposal",
            integration="openai",
            model="gpt-4o",
            prompt_tokens=1,
            completion_tokens=1,
            cost_micro_usd=4_999_990,
            latency_ms=1,
            created_at=utcnow() - timedelta(minutes=1),
        )
    )
    await session.commit()
    with pytest.raises(BudgetExceeded, match="month"):
        await Router(CATALOG).complete(
            session,
            user_id,
            context=app.state.integrations,
            task=Task.proposal,
            messages=_ask("Draft a proposal"),
            budgets=Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=5_000_000),
        )
    assert _chat_bodies(sandboxes["primary"]) == []


async def test_a_failing_provider_falls_back_and_the_answerer_is_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY, BACKUP)
    sandboxes["primary"].faults.error_rate = 1.0
    answer = await Router(CATALOG).complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.summary,
        messages=_ask("Summarise this"),
        budgets=GENEROUS,
    )
    assert answer.skipped == (("openai:gpt-4.1-mini@openai-0", "Transient"),)
    assert len(_chat_bodies(sandboxes["backup"])) == 1
    await session.commit()
    rows = (await session.execute(AIUsage.__table__.select())).mappings().all()
    [row] = rows
    backup = (
        (await session.execute(Connection.__table__.select().where(Connection.name == "openai-1")))
        .mappings()
        .one()
    )
    assert row["connection_id"] == backup["id"]
    assert row["skipped"][0][1] == "Transient"
    assert row["latency_ms"] >= 0


async def test_an_identical_request_is_answered_from_the_cache(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY)
    router = Router(CATALOG)
    first = await router.complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.summary,
        messages=_ask("Summarise the brief"),
        budgets=GENEROUS,
    )
    await session.commit()
    second = await router.complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.summary,
        messages=_ask("Summarise the brief"),
        budgets=GENEROUS,
    )
    assert second.cached is True
    assert second.text == first.text
    assert second.cost_micro_usd == 0
    assert len(_chat_bodies(sandboxes["primary"])) == 1


async def test_personal_data_never_reaches_the_provider_and_comes_back_in_the_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY)
    personal = {
        "email": "ada.lovelace@example.com",
        "phone": "+44 20 7946 0958",
        "card": "4111 1111 1111 1111",
        "iban": "GB82 WEST 1234 5698 7654 32",
        "name": "Ada Lovelace",
        "client": "Charles Babbage",
    }
    text = (
        f"Reply to Charles Babbage as Ada Lovelace ({personal['email']}, {personal['phone']}). "
        f"Pay to {personal['iban']}, card {personal['card']}."
    )
    answer = await Router(CATALOG).complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.writing,
        messages=_ask(text),
        budgets=GENEROUS,
        names=("Ada Lovelace", "Charles Babbage"),
    )
    sent = json.dumps(_chat_bodies(sandboxes["primary"]))
    for value in personal.values():
        assert value not in sent, value
    assert "[EMAIL_1]" in sent
    assert "[NAME_" in sent
    for value in personal.values():
        assert value in answer.text or value.split()[0] in answer.text


async def test_no_connected_model_is_a_clear_error(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    account = await register(client)
    with pytest.raises(NoModelAvailable):
        await Router(CATALOG).complete(
            session,
            uuid.UUID(account.user_id),
            context=app.state.integrations,
            task=Task.code,
            messages=_ask("Write code"),
            budgets=GENEROUS,
        )


async def test_the_template_writer_is_the_last_resort_and_says_it_is_not_ai(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
) -> None:
    user_id, _ = await _user_with_openai(client, PRIMARY)
    sandboxes["primary"].faults.error_rate = 1.0
    answer = await Router(CATALOG).complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.proposal,
        messages=_ask("Draft a proposal"),
        budgets=GENEROUS,
        template_variables={"title": "Logistics REST API", "name": "Ada", "skills": ["python"]},
    )
    assert answer.not_ai is True
    assert answer.integration == "template_writer"
    assert answer.model == "template:proposal"
    assert "Logistics REST API" in answer.text
    assert [reason for _, reason in answer.skipped] == ["Transient", "Transient"]
    await session.commit()
    without = await register(client)
    fallback = await Router(CATALOG).complete(
        session,
        uuid.UUID(without.user_id),
        context=app.state.integrations,
        task=Task.summary,
        messages=_ask("Summarise"),
        budgets=GENEROUS,
        template_variables={"title": "A job"},
    )
    assert fallback.not_ai is True
