"""The router's models and prices come from the integrations' specs, and nowhere else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from factories import register
from gigforge.ai import router as router_module
from gigforge.ai.router import (
    Budgets,
    NoModelAvailable,
    Router,
    Task,
    declared_models,
)
from gigforge.integrations.framework import Capability, ChatMessage, IntegrationRuntime, Registry
from gigforge.integrations.framework.spec import ModelOffer
from gigforge.integrations.openai import SPEC as OPENAI_SPEC
from gigforge.integrations.openai import OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, OpenAISandbox, create_sandbox

SANDBOX_URL = "http://catalog.openai.test"
GENEROUS = Budgets(per_task_micro_usd=10**6, monthly_micro_usd=10**8)


def _offer(name: str, price: int | None, *, context_window: int = 128_000) -> ModelOffer:
    return ModelOffer(
        name=name,
        input_price_micro_usd=price,
        output_price_micro_usd=price,
        context_window=context_window,
        quality=0.9,
    )


def _openai_declaring(*models: ModelOffer) -> type[OpenAIConnector]:
    class Declared(OpenAIConnector):
        spec = OPENAI_SPEC.model_copy(update={"models": models})

    return Declared


@pytest.fixture
def sandbox(app: FastAPI) -> OpenAISandbox:
    made = create_sandbox()
    app.state.integrations.runtime = IntegrationRuntime(
        transports={SANDBOX_URL: httpx.ASGITransport(app=made.app)}
    )
    return made


@pytest.fixture
async def model_router(app: FastAPI) -> AsyncIterator[Router]:
    router = Router(app.state.database)
    yield router
    await router.close()


async def _connected(app: FastAPI, client: httpx.AsyncClient, *models: ModelOffer) -> uuid.UUID:
    app.state.integrations.registry = Registry([_openai_declaring(*models)])
    account = await register(client)
    created = await client.post(
        "/api/v1/connections",
        json={
            "integration": "openai",
            "base_url": SANDBOX_URL,
            "config": {"api_key": SANDBOX_API_KEY},
        },
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    return uuid.UUID(account.user_id)


async def _ask(router: Router, session: AsyncSession, app: FastAPI, user_id: uuid.UUID) -> str:
    answer = await router.complete(
        session,
        user_id,
        context=app.state.integrations,
        task=Task.summary,
        messages=[ChatMessage(role="user", content="Summarise the brief")],
        budgets=GENEROUS,
    )
    return answer.model


def test_the_router_keeps_no_catalog_of_vendors_or_prices() -> None:
    assert not hasattr(router_module, "CATALOG")


def test_every_installed_llm_declares_its_models_and_prices_in_its_spec() -> None:
    registry = Registry.from_entry_points()
    llms = {
        spec.slug: spec
        for spec in (registry.get(slug).spec for slug in ("openai", "anthropic", "gemini"))
    }
    for slug, spec in llms.items():
        assert Capability.llm in spec.capabilities
        assert spec.models, slug
        assert all(offer.priced and offer.leaves_machine for offer in spec.models), slug
    [local] = declared_models(registry, "ollama")
    assert (local.input_price_micro_usd, local.output_price_micro_usd) == (0, 0)
    assert local.leaves_machine is False
    assert declared_models(registry, "onnx_local") == ()
    templates = declared_models(registry, "template_writer")
    assert {offer.name for offer in templates} == {"template:proposal", "template:summary"}
    assert declared_models(registry, "not-installed") == ()


async def test_the_cheapest_model_the_spec_declares_answers(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandbox: OpenAISandbox,
    model_router: Router,
) -> None:
    user_id = await _connected(app, client, _offer("gpt-4o", 900_000), _offer("gpt-4o-mini", 90))
    assert (await _ask(model_router, session, app, user_id)).startswith("gpt-4o-mini")


async def test_a_model_without_a_price_is_never_chosen(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandbox: OpenAISandbox,
    model_router: Router,
) -> None:
    user_id = await _connected(app, client, _offer("gpt-4o-mini", None), _offer("gpt-4o", 900_000))
    assert (await _ask(model_router, session, app, user_id)).startswith("gpt-4o")
    assert [r.body["model"] for r in sandbox.requests if r.body] == ["gpt-4o"]


async def test_a_vendor_that_prices_none_of_its_models_cannot_answer(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandbox: OpenAISandbox,
    model_router: Router,
) -> None:
    user_id = await _connected(app, client, _offer("gpt-4o-mini", None))
    with pytest.raises(NoModelAvailable):
        await _ask(model_router, session, app, user_id)


async def test_a_model_whose_context_window_is_too_small_for_the_request_is_skipped(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sandbox: OpenAISandbox,
    model_router: Router,
) -> None:
    user_id = await _connected(
        app,
        client,
        _offer("gpt-4o-mini", 90, context_window=100),
        _offer("gpt-4o", 900_000),
    )
    assert (await _ask(model_router, session, app, user_id)).startswith("gpt-4o")
