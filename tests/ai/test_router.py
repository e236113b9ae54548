"""The model router against sandboxed providers: choice, budgets, fallback, cache, masking."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from factories import register
from gigforge.ai import answers, spend, usage
from gigforge.ai import router as router_module
from gigforge.ai.models import AISpendMonth, AIUsage
from gigforge.ai.router import (
    CACHE_TTL,
    DEFAULT_COMPLETION_TOKENS,
    BudgetExceeded,
    Budgets,
    NoModelAvailable,
    RoutedAnswer,
    Router,
    Task,
    estimate_tokens,
)
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection, ConnectionStatus
from gigforge.integrations.framework import (
    AuthExpired,
    ChatMessage,
    IntegrationRuntime,
    Registry,
)
from gigforge.integrations.framework.fallback import NoProviderAnswered
from gigforge.integrations.framework.spec import ModelOffer
from gigforge.integrations.openai import SPEC as OPENAI_SPEC
from gigforge.integrations.openai import OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, OpenAISandbox, create_sandbox
from gigforge.integrations.template_writer import TemplateWriterConnector
from gigforge.kit.clock import utcnow

PRIMARY = "http://primary.openai.test"
BACKUP = "http://backup.openai.test"
GENEROUS = Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=100_000_000)


def _offer(
    name: str, input_price: int, output_price: int, latency_ms: int, quality: float
) -> ModelOffer:
    return ModelOffer(
        name=name,
        input_price_micro_usd=input_price,
        output_price_micro_usd=output_price,
        context_window=128_000,
        quality=quality,
        latency_ms=latency_ms,
    )


GPT_4O = _offer("gpt-4o", 2_500_000, 10_000_000, 2_500, 0.9)
GPT_4O_MINI = _offer("gpt-4o-mini", 150_000, 600_000, 1_500, 0.78)
CATALOG = (
    GPT_4O,
    GPT_4O_MINI,
    _offer("gpt-4.1-mini", 10_000, 10_000, 1_000, 0.5),  # cheap, not good enough
)


class CatalogOpenAI(OpenAIConnector):
    """OpenAI as its spec would declare the test's catalog: the router reads nothing else."""

    spec = OPENAI_SPEC.model_copy(update={"models": CATALOG})


def _patch(monkeypatch: pytest.MonkeyPatch, name: str, value: object) -> None:
    """Set a module-level setting (or the clock) wherever the router's modules read it."""
    for module in (router_module, spend, usage, answers):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, value)


async def _no_wait(delay: float) -> None:
    return None


@dataclass
class Asker:
    user_id: uuid.UUID
    headers: dict[str, str]
    connection_ids: list[str]


class Clock:
    """The router's "now", moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


class Gate(httpx.AsyncBaseTransport):
    """Holds the first request until the test opens it, to look at a call while it is under way;
    later requests pass."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.entered.is_set():
            self.entered.set()
            await self.opened.wait()
        return await self.inner.handle_async_request(request)


@pytest.fixture
def sandboxes(app: FastAPI) -> dict[str, OpenAISandbox]:
    primary, backup = create_sandbox(), create_sandbox()
    context: IntegrationContext = app.state.integrations
    context.registry = Registry([CatalogOpenAI, TemplateWriterConnector])
    context.runtime = IntegrationRuntime(
        sleep=_no_wait,
        transports={
            PRIMARY: httpx.ASGITransport(app=primary.app),
            BACKUP: httpx.ASGITransport(app=backup.app),
        },
    )
    return {"primary": primary, "backup": backup}


@pytest.fixture
async def model_router(app: FastAPI) -> AsyncIterator[Router]:
    """A router of the test's own, closed (its rows written) before the database goes."""
    router = Router(app.state.database)
    yield router
    await router.close()


@pytest.fixture
def held_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer waits for `flush` or `close`, so a test sees what is not written yet."""
    _patch(monkeypatch, "FLUSH_SECONDS", 3600.0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    _patch(monkeypatch, "utcnow", moved)
    return moved


async def _user_with_openai(
    client: httpx.AsyncClient, *bases: str, name: str = "Ada Lovelace"
) -> Asker:
    account = await register(client, full_name=name)
    connection_ids = []
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
        connection_ids.append(created.json()["id"])
    return Asker(uuid.UUID(account.user_id), account.headers, connection_ids)


def _ask(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


async def _complete(
    router: Router,
    session: AsyncSession,
    app: FastAPI,
    user_id: uuid.UUID,
    messages: Sequence[ChatMessage],
    *,
    task: Task = Task.summary,
    budgets: Budgets = GENEROUS,
) -> RoutedAnswer:
    """One routed call with the app's integrations: a summary within generous budgets unless
    the test says otherwise."""
    return await router.complete(
        session,
        user_id,
        context=app.state.integrations,
        task=task,
        messages=messages,
        budgets=budgets,
    )


def _chat_bodies(sandbox: OpenAISandbox) -> list[dict]:
    return [r.body for r in sandbox.requests if r.path.endswith("/chat/completions")]


def _estimate(offer: ModelOffer, messages: Sequence[ChatMessage]) -> int:
    return offer.estimate(estimate_tokens(messages), DEFAULT_COMPLETION_TOKENS)


async def _usage_rows(session: AsyncSession) -> list[AIUsage]:
    session.expire_all()
    return list((await session.scalars(select(AIUsage))).all())


async def _spend_elsewhere(
    app: FastAPI, user_id: uuid.UUID, cost: int, *, budget: Budgets | None = None
) -> None:
    """A call answered by another process: its reservation, then its usage row written and
    the reservation settled, as that process's writer does, behind this router's back."""
    engine = app.state.database.engine
    moment = utcnow()
    limit = budget.monthly_micro_usd if budget else 10**15
    reservation = await spend.reserve(engine, user_id, amount=cost, budget=limit, now=moment)
    assert isinstance(reservation, spend.Reservation)
    async with engine.begin() as connection:
        await connection.execute(
            insert(AIUsage),
            [
                usage.usage_row(
                    user_id, "proposal", integration="openai", model="gpt-4o", cost=cost
                )
                | {"created_at": moment - timedelta(seconds=1)}
            ],
        )
        await spend.settle(connection, reservation, cost=cost)


async def _month(session: AsyncSession, user_id: uuid.UUID) -> AISpendMonth:
    session.expire_all()
    [month] = (
        await session.scalars(select(AISpendMonth).where(AISpendMonth.user_id == user_id))
    ).all()
    return month


async def test_the_cheapest_adequate_model_answers(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    answer = await _complete(
        model_router,
        session,
        app,
        asker.user_id,
        _ask("Draft a short proposal"),
        task=Task.proposal,
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
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    with pytest.raises(BudgetExceeded, match="cap for one proposal"):
        await model_router.complete(
            session,
            asker.user_id,
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
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    await _spend_elsewhere(app, asker.user_id, 4_999_990)
    with pytest.raises(BudgetExceeded, match="month"):
        await model_router.complete(
            session,
            asker.user_id,
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
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY, BACKUP)
    sandboxes["primary"].faults.error_rate = 1.0
    answer = await _complete(model_router, session, app, asker.user_id, _ask("Summarise this"))
    assert answer.skipped == (("openai:gpt-4.1-mini@openai-0", "Transient"),)
    assert len(_chat_bodies(sandboxes["backup"])) == 1
    await model_router.flush()
    [row] = await _usage_rows(session)
    assert str(row.connection_id) == asker.connection_ids[1]
    assert row.skipped[0][1] == "Transient"
    assert row.latency_ms >= 0


async def test_an_identical_request_is_answered_from_the_cache(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    first = await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    second = await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    assert second.cached is True
    assert second.text == first.text
    assert second.cost_micro_usd == 0
    assert len(_chat_bodies(sandboxes["primary"])) == 1


async def test_personal_data_never_reaches_the_provider_and_comes_back_in_the_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
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
    answer = await model_router.complete(
        session,
        asker.user_id,
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
    model_router: Router,
) -> None:
    account = await register(client)
    with pytest.raises(NoModelAvailable):
        await model_router.complete(
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
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    sandboxes["primary"].faults.error_rate = 1.0
    answer = await model_router.complete(
        session,
        asker.user_id,
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
    without = await register(client)
    fallback = await model_router.complete(
        session,
        uuid.UUID(without.user_id),
        context=app.state.integrations,
        task=Task.summary,
        messages=_ask("Summarise"),
        budgets=GENEROUS,
        template_variables={"title": "A job"},
    )
    assert fallback.not_ai is True
    await model_router.flush()
    assert {row.integration for row in await _usage_rows(session)} == {"template_writer"}


# Budgets: reserved in the database before each call, settled after it


async def test_a_fallback_must_fit_what_is_left_of_the_monthly_budget(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    sandboxes["primary"].faults.error_rate = 1.0
    messages = _ask("Draft a proposal")
    with pytest.raises(NoProviderAnswered) as refused:
        await model_router.complete(
            session,
            asker.user_id,
            context=app.state.integrations,
            task=Task.proposal,
            messages=messages,
            budgets=Budgets(
                per_task_micro_usd=1_000_000,
                monthly_micro_usd=_estimate(GPT_4O, messages) - 1,
            ),
        )
    assert [label for label, _ in refused.value.extensions["skipped"]] == [
        "openai:gpt-4o-mini@openai-0"
    ]


async def test_an_answer_holds_its_reservation_until_its_usage_is_written(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
    held_writes: None,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    first = await _complete(
        model_router, session, app, asker.user_id, _ask("Draft a proposal"), task=Task.proposal
    )
    assert await _usage_rows(session) == []
    held = await _month(session, asker.user_id)
    assert held.reserved_micro_usd >= first.cost_micro_usd
    assert held.spent_micro_usd == 0
    again = _ask("Draft another one")
    with pytest.raises(BudgetExceeded, match="month"):
        await model_router.complete(
            session,
            asker.user_id,
            context=app.state.integrations,
            task=Task.proposal,
            messages=again,
            budgets=Budgets(
                per_task_micro_usd=1_000_000,
                monthly_micro_usd=first.cost_micro_usd + _estimate(GPT_4O_MINI, again) - 1,
            ),
        )
    await model_router.close()
    [row] = await _usage_rows(session)
    assert row.cost_micro_usd == first.cost_micro_usd
    settled = await _month(session, asker.user_id)
    assert (settled.spent_micro_usd, settled.reserved_micro_usd) == (first.cost_micro_usd, 0)


async def test_usage_is_kept_when_the_callers_transaction_rolls_back(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
    held_writes: None,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    async with app.state.database.sessionmaker() as callers:
        answer = await model_router.complete(
            callers,
            asker.user_id,
            context=app.state.integrations,
            task=Task.summary,
            messages=_ask("Summarise the brief"),
            budgets=GENEROUS,
        )
        await callers.rollback()
    await model_router.flush()
    [row] = await _usage_rows(session)
    assert row.cost_micro_usd == answer.cost_micro_usd


async def test_calls_under_way_count_toward_the_monthly_budget(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    context: IntegrationContext = app.state.integrations
    gate = Gate(httpx.ASGITransport(app=sandboxes["primary"].app))
    context.runtime = IntegrationRuntime(sleep=_no_wait, transports={PRIMARY: gate})
    messages = _ask("Draft a proposal")
    budgets = Budgets(
        per_task_micro_usd=1_000_000, monthly_micro_usd=2 * _estimate(GPT_4O_MINI, messages) - 1
    )
    first = asyncio.create_task(
        model_router.complete(
            session,
            asker.user_id,
            context=context,
            task=Task.proposal,
            messages=messages,
            budgets=budgets,
        )
    )
    await gate.entered.wait()
    async with app.state.database.sessionmaker() as other:
        with pytest.raises(BudgetExceeded, match="month"):
            await model_router.complete(
                other,
                asker.user_id,
                context=context,
                task=Task.proposal,
                messages=messages,
                budgets=budgets,
            )
    gate.opened.set()
    assert (await first).cached is False


async def test_spend_of_another_process_is_seen_by_the_next_call_near_the_cap(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    budgets = Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=5_000_000)
    await _spend_elsewhere(app, asker.user_id, 4_990_000)
    await _complete(
        model_router,
        session,
        app,
        asker.user_id,
        _ask("Draft a proposal"),
        task=Task.proposal,
        budgets=budgets,
    )
    await model_router.flush()
    month = await _month(session, asker.user_id)
    # Near the cap this process reserved exactly its call, so nothing is held once written.
    assert month.reserved_micro_usd == 0
    await _spend_elsewhere(
        app, asker.user_id, budgets.monthly_micro_usd - month.spent_micro_usd, budget=budgets
    )
    with pytest.raises(BudgetExceeded, match="month"):
        await _complete(
            model_router,
            session,
            app,
            asker.user_id,
            _ask("Draft another proposal"),
            task=Task.proposal,
            budgets=budgets,
        )
    assert len(_chat_bodies(sandboxes["primary"])) == 1


async def test_room_one_process_reserved_ahead_is_not_given_to_another(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    budgets = Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=50_000_000)
    messages = _ask("Draft a proposal")
    await _complete(
        model_router, session, app, asker.user_id, messages, task=Task.proposal, budgets=budgets
    )
    # The first call reserved room for the next ones: they reserve nothing more.
    held = (await _month(session, asker.user_id)).reserved_micro_usd
    assert held >= 2 * _estimate(GPT_4O, messages)
    for prompt in ("Draft a second proposal", "Draft a third proposal"):
        await _complete(
            model_router,
            session,
            app,
            asker.user_id,
            _ask(prompt),
            task=Task.proposal,
            budgets=budgets,
        )
    assert (await _month(session, asker.user_id)).reserved_micro_usd == held
    elsewhere = await spend.reserve(
        app.state.database.engine,
        asker.user_id,
        amount=budgets.monthly_micro_usd - held + 1,
        budget=budgets.monthly_micro_usd,
        now=utcnow(),
    )
    assert elsewhere == spend.Refusal(spent=0, reserved=held)
    await model_router.close()
    month = await _month(session, asker.user_id)
    assert month.reserved_micro_usd == 0
    assert month.spent_micro_usd == sum(row.cost_micro_usd for row in await _usage_rows(session))


async def test_a_new_month_starts_from_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
    clock: Clock,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    budgets = Budgets(per_task_micro_usd=1_000_000, monthly_micro_usd=5_000_000)
    await _spend_elsewhere(app, asker.user_id, 5_000_000)
    with pytest.raises(BudgetExceeded, match="month"):
        await _complete(
            model_router,
            session,
            app,
            asker.user_id,
            _ask("Draft a proposal"),
            task=Task.proposal,
            budgets=budgets,
        )
    clock.now = (clock.now.replace(day=1) + timedelta(days=32)).replace(day=1, hour=0, minute=5)
    answer = await _complete(
        model_router,
        session,
        app,
        asker.user_id,
        _ask("Draft a proposal"),
        task=Task.proposal,
        budgets=budgets,
    )
    assert answer.cost_micro_usd > 0


# The cache: in memory, written through to the database


async def test_the_cache_never_answers_another_user(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    for name in ("Ada Lovelace", "Grace Hopper"):
        asker = await _user_with_openai(client, PRIMARY, name=name)
        answer = await _complete(
            model_router, session, app, asker.user_id, _ask("Summarise the brief")
        )
        assert answer.cached is False
    assert len(_chat_bodies(sandboxes["primary"])) == 2


async def test_an_answer_stored_by_another_process_is_found_in_the_database(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    first = await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    await model_router.flush()
    elsewhere = Router(app.state.database)
    try:
        second = await elsewhere.complete(
            session,
            asker.user_id,
            context=app.state.integrations,
            task=Task.summary,
            messages=_ask("Summarise the brief"),
            budgets=GENEROUS,
        )
    finally:
        await elsewhere.close()
    assert second.cached is True
    assert second.text == first.text
    assert len(_chat_bodies(sandboxes["primary"])) == 1


async def test_an_expired_answer_is_asked_again(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
    clock: Clock,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    for _ in range(2):
        answer = await _complete(
            model_router, session, app, asker.user_id, _ask("Summarise the brief")
        )
        assert answer.cached is False
        clock.now += CACHE_TTL
    assert len(_chat_bodies(sandboxes["primary"])) == 2


# Connections: the chain in memory, and connectors kept open


async def test_a_connection_disabled_through_the_api_is_not_used_by_the_next_call(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY, BACKUP)
    for prompt in ("Summarise the brief", "Summarise the other brief"):
        answer = await _complete(model_router, session, app, asker.user_id, _ask(prompt))
        assert answer.cached is False
        disabled = await client.patch(
            f"/api/v1/connections/{asker.connection_ids[0]}",
            json={"enabled": False},
            headers=asker.headers,
        )
        assert disabled.status_code == 200, disabled.text
    assert len(_chat_bodies(sandboxes["primary"])) == 1
    assert len(_chat_bodies(sandboxes["backup"])) == 1


async def test_a_connection_marked_needs_reauth_is_dropped_at_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY, BACKUP)
    await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    primary = await session.get(Connection, uuid.UUID(asker.connection_ids[0]))
    assert primary is not None
    primary.status = ConnectionStatus.needs_reauth
    await session.commit()
    await _complete(model_router, session, app, asker.user_id, _ask("Summarise the other brief"))
    assert len(_chat_bodies(sandboxes["primary"])) == 1
    assert len(_chat_bodies(sandboxes["backup"])) == 1


async def test_a_change_made_by_another_process_is_seen_after_the_refresh_interval(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asker = await _user_with_openai(client, PRIMARY, BACKUP)
    await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    # A statement, not an ORM write: this process hears nothing of it, as of another's.
    await session.execute(
        update(Connection)
        .where(Connection.id == uuid.UUID(asker.connection_ids[0]))
        .values(status=ConnectionStatus.disabled)
    )
    await session.commit()
    _patch(monkeypatch, "REFRESH_SECONDS", 0.0)
    await _complete(model_router, session, app, asker.user_id, _ask("Summarise the other brief"))
    assert len(_chat_bodies(sandboxes["primary"])) == 1
    assert len(_chat_bodies(sandboxes["backup"])) == 1


async def test_a_replaced_api_key_is_used_by_the_next_call(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    replaced = await client.patch(
        f"/api/v1/connections/{asker.connection_ids[0]}",
        json={"config": {"api_key": "sk-revoked-key"}},
        headers=asker.headers,
    )
    assert replaced.status_code == 200, replaced.text
    with pytest.raises(AuthExpired):
        await _complete(
            model_router, session, app, asker.user_id, _ask("Summarise the other brief")
        )
    assert sandboxes["primary"].requests[-1].authorization == "Bearer sk-revoked-key"


# Writing usage after the answer


async def test_usage_of_a_connection_deleted_before_it_was_written_is_kept_without_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandboxes: dict[str, OpenAISandbox],
    model_router: Router,
    held_writes: None,
) -> None:
    asker = await _user_with_openai(client, PRIMARY)
    answer = await _complete(model_router, session, app, asker.user_id, _ask("Summarise the brief"))
    deleted = await client.delete(
        f"/api/v1/connections/{asker.connection_ids[0]}", headers=asker.headers
    )
    assert deleted.status_code == 204, deleted.text
    await model_router.flush()
    [row] = await _usage_rows(session)
    assert row.connection_id is None
    assert row.cost_micro_usd == answer.cost_micro_usd
