"""The model router: which model answers a task, within which budget, with which data.

For a task (proposal, analysis, writing, code, summary) it takes the user's connected LLMs, keeps
the offers good enough for the task (declared quality), orders them cheapest first (declared
price, then latency), drops those whose estimated cost breaks the per-task cap, refuses the call
if the user's monthly budget would be exceeded, masks personal data for models outside this
machine, answers from the cache when the same (masked) request was answered before, and
otherwise walks the fallback chain, recording which model answered, its cost and its latency.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.ai.masking import Masker
from gigforge.ai.models import AICacheEntry, AIUsage
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import (
    LLM,
    Capability,
    ChatMessage,
    ChatRequest,
    ChatResult,
    UnknownIntegration,
)
from gigforge.integrations.framework.fallback import NoProviderAnswered, first_answer
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import Forbidden, ServiceUnavailable

CACHE_TTL = timedelta(days=7)
DEFAULT_COMPLETION_TOKENS = 512


class Task(StrEnum):
    proposal = "proposal"
    analysis = "analysis"
    writing = "writing"
    code = "code"
    summary = "summary"


# The least declared quality a model needs for each task.
TASK_MIN_QUALITY = {
    Task.proposal: 0.7,
    Task.analysis: 0.6,
    Task.writing: 0.7,
    Task.code: 0.8,
    Task.summary: 0.5,
}


@dataclass(frozen=True)
class ModelOffer:
    """A model as the router sees it: prices in micro-dollars per million tokens."""

    integration: str
    model: str
    input_price: int
    output_price: int
    latency_ms: int
    quality: float
    tasks: frozenset[Task] = frozenset(Task)
    leaves_machine: bool = True

    def estimate(self, prompt_tokens: int, completion_tokens: int) -> int:
        return (prompt_tokens * self.input_price + completion_tokens * self.output_price) // 10**6

    def cost(self, result: ChatResult) -> int:
        if result.cost_micro_usd is not None:
            return result.cost_micro_usd
        return self.estimate(result.usage.prompt_tokens, result.usage.completion_tokens)


# Published list prices (USD per million tokens, as micro-dollars), checked 2026-11-22; latency
# and quality are Gigforge's own rough ratings for drafting work.
CATALOG: tuple[ModelOffer, ...] = (
    ModelOffer("openai", "gpt-4o-mini", 150_000, 600_000, 1_500, 0.78),
    ModelOffer("openai", "gpt-4o", 2_500_000, 10_000_000, 2_500, 0.9),
    ModelOffer("anthropic", "claude-haiku-4-5", 1_000_000, 5_000_000, 1_500, 0.82),
    ModelOffer("anthropic", "claude-sonnet-4-5", 3_000_000, 15_000_000, 3_000, 0.93),
    ModelOffer("gemini", "gemini-2.5-flash", 300_000, 2_500_000, 1_500, 0.8),
    ModelOffer(
        "ollama",
        "llama3.1:8b",
        0,
        0,
        6_000,
        0.6,
        frozenset({Task.analysis, Task.summary}),
        leaves_machine=False,
    ),
)


# Tasks the built-in template writer can answer when no model can.
TEMPLATES = {Task.proposal: "template:proposal", Task.summary: "template:summary"}
TEMPLATE_WRITER = "template_writer"


class BudgetExceeded(Forbidden):
    code = "ai-budget-exceeded"
    title = "The AI budget does not allow this request"


class NoModelAvailable(ServiceUnavailable):
    code = "no-model-available"
    title = "No connected model can do this task"


@dataclass(frozen=True)
class RoutedAnswer:
    text: str
    integration: str
    model: str
    cost_micro_usd: int
    latency_ms: int
    cached: bool
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    not_ai: bool = False  # written from a template: shown as "not written by AI"


@dataclass(frozen=True)
class Budgets:
    per_task_micro_usd: int
    monthly_micro_usd: int


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """About four characters a token for English; enough to enforce a cap before calling."""
    return max(1, sum(len(message.content) for message in messages) // 4 + 4 * len(messages))


def _cache_key(task: Task, messages: Sequence[ChatMessage], max_tokens: int | None) -> str:
    payload = json.dumps(
        {"task": task, "messages": [m.model_dump() for m in messages], "max_tokens": max_tokens},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class Router:
    def __init__(self, catalog: Sequence[ModelOffer] = CATALOG) -> None:
        self.catalog = tuple(catalog)

    async def candidates(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> list[tuple[ModelOffer, Connection, int]]:
        """(offer, connection, estimated cost) the task may use, cheapest first."""
        connections = await connection_service.chain(
            session, user_id, Capability.llm, context=context
        )
        found = [
            (offer, connection, offer.estimate(prompt_tokens, completion_tokens))
            for connection in connections
            for offer in self.catalog
            if offer.integration == connection.integration
            and task in offer.tasks
            and offer.quality >= TASK_MIN_QUALITY[task]
        ]
        found.sort(key=lambda item: (item[2], item[0].latency_ms, item[1].priority))
        return found

    async def complete(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        messages: Sequence[ChatMessage],
        budgets: Budgets,
        names: Sequence[str] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
        template_variables: Mapping[str, Any] | None = None,
    ) -> RoutedAnswer:
        """Answer with a model; when no model is connected or none answers, and the task has a
        template and its variables are given, answer from the template writer (not AI)."""
        try:
            return await self._complete(
                session,
                user_id,
                context=context,
                task=task,
                messages=messages,
                budgets=budgets,
                names=names,
                max_tokens=max_tokens,
                temperature=temperature,
            )
        except (NoModelAvailable, NoProviderAnswered) as exc:
            if template_variables is None or task not in TEMPLATES:
                raise
            return await self._from_template(
                session,
                user_id,
                context=context,
                task=task,
                variables=template_variables,
                skipped=tuple(exc.extensions.get("skipped") or ()),
            )

    async def _from_template(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        variables: Mapping[str, Any],
        skipped: tuple[tuple[str, str], ...],
    ) -> RoutedAnswer:
        try:
            writer_class = context.registry.get(TEMPLATE_WRITER)
        except UnknownIntegration:
            raise NoModelAvailable(
                f"No model can do this {task.value} and the template writer is not installed"
            ) from None
        spec = writer_class.spec
        writer = writer_class(
            context.runtime.client(spec, connection="built-in"), spec.config_model()
        )
        if not isinstance(writer, LLM):
            raise NoModelAvailable("the template writer is not a writer")
        request = ChatRequest(
            model=TEMPLATES[task],
            messages=[ChatMessage(role="user", content=json.dumps(dict(variables), default=str))],
        )
        async with writer.client:
            result = await writer.chat(request)
        await self._record(
            session,
            user_id,
            task=task,
            integration=spec.slug,
            connection_id=None,
            model=result.model,
            prompt_tokens=0,
            completion_tokens=0,
            cost=0,
            latency_ms=0,
            cached=False,
            skipped=skipped,
        )
        return RoutedAnswer(result.text, spec.slug, result.model, 0, 0, False, skipped, not_ai=True)

    async def _complete(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        messages: Sequence[ChatMessage],
        budgets: Budgets,
        names: Sequence[str] = (),
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> RoutedAnswer:
        completion_tokens = max_tokens or DEFAULT_COMPLETION_TOKENS
        prompt_tokens = estimate_tokens(messages)
        candidates = await self.candidates(
            session,
            user_id,
            context=context,
            task=task,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        if not candidates:
            raise NoModelAvailable(
                f"Connect a model good enough for {task.value} (Settings > Connections)"
            )
        affordable = [item for item in candidates if item[2] <= budgets.per_task_micro_usd]
        if not affordable:
            cheapest = candidates[0][2]
            raise BudgetExceeded(
                f"The cheapest model would cost about ${cheapest / 1e6:.4f}, over the "
                f"${budgets.per_task_micro_usd / 1e6:.4f} cap for one {task.value} request"
            )
        spent = await self.spent_this_month(session, user_id)
        if spent + affordable[0][2] > budgets.monthly_micro_usd:
            raise BudgetExceeded(
                f"This month's AI budget of ${budgets.monthly_micro_usd / 1e6:.2f} is spent "
                f"(${spent / 1e6:.2f} used)"
            )

        masker = Masker(names=tuple(names))
        masked = [ChatMessage(role=m.role, content=masker.mask(m.content)) for m in messages]
        key = _cache_key(task, masked, max_tokens)
        hit = await session.get(AICacheEntry, key)
        if hit is not None and hit.user_id == user_id and utcnow() - hit.created_at < CACHE_TTL:
            await self._record(
                session,
                user_id,
                task=task,
                integration=hit.integration,
                connection_id=None,
                model=hit.model,
                prompt_tokens=0,
                completion_tokens=0,
                cost=0,
                latency_ms=0,
                cached=True,
                skipped=(),
            )
            return RoutedAnswer(masker.restore(hit.text), hit.integration, hit.model, 0, 0, True)

        async def ask(item: tuple[ModelOffer, Connection, int]) -> tuple[ChatResult, int]:
            offer, connection, _estimate = item
            connector = await connection_service.connector(
                session, context=context, connection=connection
            )
            if not isinstance(connector, LLM):
                raise NoModelAvailable(f"{connection.integration} is not a language model")
            request = ChatRequest(
                model=offer.model,
                messages=masked if offer.leaves_machine else list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
            )
            started = time.perf_counter()
            async with connector.client:
                result = await connector.chat(request)
            return result, int((time.perf_counter() - started) * 1000)

        labelled = [
            (f"{item[0].integration}:{item[0].model}@{item[1].name}", item) for item in affordable
        ]
        answered = await first_answer(labelled, ask)
        result, latency_ms = answered.result
        offer, connection, _ = next(
            item for label, item in labelled if label == answered.answered_by
        )
        cost = offer.cost(result)
        await self._record(
            session,
            user_id,
            task=task,
            integration=offer.integration,
            connection_id=connection.id,
            model=result.model,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cost=cost,
            latency_ms=latency_ms,
            cached=False,
            skipped=answered.skipped,
        )
        stored_text = result.text if offer.leaves_machine else masker.mask(result.text)
        await session.merge(
            AICacheEntry(
                key=key,
                user_id=user_id,
                integration=offer.integration,
                model=result.model,
                text=stored_text,
                prompt_tokens=result.usage.prompt_tokens,
                completion_tokens=result.usage.completion_tokens,
                created_at=utcnow(),
            )
        )
        await session.flush()
        text = masker.restore(result.text) if offer.leaves_machine else result.text
        return RoutedAnswer(
            text, offer.integration, result.model, cost, latency_ms, False, answered.skipped
        )

    async def spent_this_month(self, session: AsyncSession, user_id: uuid.UUID) -> int:
        start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        total = await session.scalar(
            select(func.coalesce(func.sum(AIUsage.cost_micro_usd), 0)).where(
                AIUsage.user_id == user_id, AIUsage.created_at >= start
            )
        )
        return int(total or 0)

    async def _record(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        task: Task,
        integration: str,
        connection_id: uuid.UUID | None,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: int,
        latency_ms: int,
        cached: bool,
        skipped: Sequence[tuple[str, str]],
    ) -> None:
        session.add(
            AIUsage(
                user_id=user_id,
                task=task.value,
                integration=integration,
                connection_id=connection_id,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_micro_usd=cost,
                latency_ms=latency_ms,
                cached=cached,
                skipped=[list(item) for item in skipped],
            )
        )
        await session.flush()


router = Router()
