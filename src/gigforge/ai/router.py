"""The model router: which model answers a task, within which budget, with which data.

For a task (proposal, analysis, writing, code, summary) it takes the user's connected LLMs, keeps
the offers good enough for the task (declared quality), orders them cheapest first (declared
price, then latency), drops those whose estimated cost breaks the per-task cap or what is left of
the user's monthly budget (refusing the call when nothing is left), masks personal data for
models outside this machine, answers from the cache when the same (masked) request was answered
before, and otherwise walks the fallback chain, recording which model answered, its cost and its
latency.

A call through the router should cost hardly more than the provider's own answer, so an ordinary
call neither reads nor writes the database on the caller's path. For each database (one per
process in production) the router keeps in memory each user's LLM connections (`_UserView`, with
open connectors in `pool.ConnectorPool`), each user's spend this month (`spend.SpendLedger`),
recent answers (`answers.AnswerCache`) and the rows still to be written (`usage.UsageWriter`);
each says how it stays true to the database, which remains the authority across processes.
The app's lifespan calls `router.close(database)`, so nothing recorded is left unwritten at
shutdown.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gigforge.ai.answers import CACHE_TTL, AnswerCache, CachedAnswer
from gigforge.ai.masking import Masker
from gigforge.ai.pool import ConnectorPool, chain_version, detached
from gigforge.ai.spend import REFRESH_SECONDS, SpendLedger, month_start, stored_spend
from gigforge.ai.usage import UsageWriter, usage_row
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.connections.service import connections as connection_service
from gigforge.db import Database
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

logger = structlog.get_logger("gigforge.ai")

DEFAULT_COMPLETION_TOKENS = 512
# Near the monthly cap (within the dearest candidate's estimate or this share of the budget),
# spend is read from the database on every call and the call's usage written before it returns.
NEAR_CAP_SHARE = 0.1


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


Candidate = tuple[ModelOffer, Connection, int]


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    """About four characters a token for English; enough to enforce a cap before calling."""
    return max(1, sum(len(message.content) for message in messages) // 4 + 4 * len(messages))


def _cache_key(
    user_id: uuid.UUID, task: Task, messages: Sequence[ChatMessage], max_tokens: int | None
) -> str:
    """The user is part of the key, so one user's answer can never be another's cache hit."""
    payload = json.dumps(
        {
            "user": str(user_id),
            "task": task,
            "messages": [m.model_dump() for m in messages],
            "max_tokens": max_tokens,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class _UserView:
    """A user's active LLM connections in fallback order, as last read, and when."""

    chain: tuple[Connection, ...]
    version: int
    read_at: float  # time.monotonic()
    answers_read_at: datetime


class _DatabaseState:
    """What the router keeps for one database: one per process in production."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.views: dict[uuid.UUID, _UserView] = {}
        self.answers = AnswerCache()
        self.ledger = SpendLedger()
        self.writer = UsageWriter(engine, self.ledger)
        self.connectors = ConnectorPool()

    async def close(self) -> None:
        await self.writer.close()
        await self.connectors.close()


class Router:
    def __init__(self, catalog: Sequence[ModelOffer] = CATALOG) -> None:
        self.catalog = tuple(catalog)
        self._states: dict[AsyncEngine, _DatabaseState] = {}

    async def candidates(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> list[Candidate]:
        """(offer, connection, estimated cost) the task may use, cheapest first."""
        view = await self._view(session, user_id, context=context)
        found = [
            (offer, connection, offer.estimate(prompt_tokens, completion_tokens))
            for connection in view.chain
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
                user_id,
                context=context,
                task=task,
                variables=template_variables,
                skipped=tuple(exc.extensions.get("skipped") or ()),
            )

    async def spent_this_month(self, session: AsyncSession, user_id: uuid.UUID) -> int:
        """This month's spend: the database's sum plus what this process has yet to write."""
        month = month_start(utcnow())
        state = self._states.get(session.bind) if isinstance(session.bind, AsyncEngine) else None
        unflushed = state.ledger.unflushed(user_id, month) if state is not None else 0
        return await stored_spend(session, user_id, month) + unflushed

    async def flush(self, database: Database) -> None:
        """Write every row recorded so far for this database."""
        state = self._states.get(database.engine)
        if state is not None:
            await state.writer.flush()

    async def close(self, database: Database) -> None:
        """Write what is left and forget the database: for the app's shutdown."""
        state = self._states.pop(database.engine, None)
        if state is not None:
            await state.close()

    def _state(self, database: Database) -> _DatabaseState:
        state = self._states.get(database.engine)
        if state is None:
            state = self._states[database.engine] = _DatabaseState(database.engine)
        return state

    async def _view(
        self, session: AsyncSession, user_id: uuid.UUID, *, context: IntegrationContext
    ) -> _UserView:
        """The user's chain, read again after a change in this process or REFRESH_SECONDS."""
        state = self._state(context.database)
        view = state.views.get(user_id)
        version = chain_version(user_id)
        now = time.monotonic()
        due = view is None or now - view.read_at >= REFRESH_SECONDS
        if view is not None and not due and view.version == version:
            return view
        chain = await connection_service.chain(session, user_id, Capability.llm, context=context)
        if view is None or due:
            # Also the answers other processes stored since the last refresh, overlapping it:
            # their writers store rows a little after the answers.
            started = utcnow()
            since = started - CACHE_TTL if view is None else view.answers_read_at
            await state.answers.warm(session, user_id, since=since)
            read_at, answers_read_at = now, started - timedelta(seconds=REFRESH_SECONDS)
        else:
            read_at, answers_read_at = view.read_at, view.answers_read_at
        view = _UserView(
            tuple(detached(connection) for connection in chain), version, read_at, answers_read_at
        )
        state.views[user_id] = view
        await state.connectors.keep_only(user_id, {connection.id for connection in view.chain})
        return view

    async def _from_template(
        self,
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
        self._state(context.database).writer.add(
            usage_row(user_id, task, integration=spec.slug, model=result.model, skipped=skipped)
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
        state = self._state(context.database)
        month = month_start(utcnow())
        dearest = max(item[2] for item in affordable)
        spent, near_cap = await state.ledger.check(
            session,
            user_id,
            month,
            budget=budgets.monthly_micro_usd,
            margin=max(dearest, int(budgets.monthly_micro_usd * NEAR_CAP_SHARE)),
        )
        # A fallback may answer too, so each candidate must fit what is left of the budget.
        within = [item for item in affordable if spent + item[2] <= budgets.monthly_micro_usd]
        if not within:
            raise BudgetExceeded(
                f"This month's AI budget of ${budgets.monthly_micro_usd / 1e6:.2f} is spent "
                f"(${spent / 1e6:.2f} used)"
            )
        with state.ledger.reserve(user_id, month, max(item[2] for item in within)):
            answer = await self._answer(
                state,
                session,
                user_id,
                context=context,
                task=task,
                messages=messages,
                candidates=within,
                names=names,
                max_tokens=max_tokens,
                temperature=temperature,
            )
        if near_cap:
            # Other processes read the database near the cap: let them see this call now.
            await state.writer.flush()
        return answer

    async def _answer(
        self,
        state: _DatabaseState,
        session: AsyncSession,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        messages: Sequence[ChatMessage],
        candidates: Sequence[Candidate],
        names: Sequence[str],
        max_tokens: int | None,
        temperature: float | None,
    ) -> RoutedAnswer:
        """From the cache or the first candidate that answers; the usage is recorded either way."""
        masker = Masker(names=tuple(names))
        masked = [ChatMessage(role=m.role, content=masker.mask(m.content)) for m in messages]
        key = _cache_key(user_id, task, masked, max_tokens)
        hit = state.answers.get(key, user_id, utcnow())
        if hit is not None:
            state.writer.add(
                usage_row(user_id, task, integration=hit.integration, model=hit.model, cached=True)
            )
            return RoutedAnswer(masker.restore(hit.text), hit.integration, hit.model, 0, 0, True)

        async def ask(item: Candidate) -> tuple[ChatResult, int]:
            offer, connection, _estimate = item
            request = ChatRequest(
                model=offer.model,
                messages=masked if offer.leaves_machine else list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
            )
            async with state.connectors.lease(
                session, context=context, connection=connection
            ) as connector:
                if not isinstance(connector, LLM):
                    raise NoModelAvailable(f"{connection.integration} is not a language model")
                started = time.perf_counter()
                result = await connector.chat(request)
            return result, int((time.perf_counter() - started) * 1000)

        labelled = [
            (f"{item[0].integration}:{item[0].model}@{item[1].name}", item) for item in candidates
        ]
        answered = await first_answer(labelled, ask)
        result, latency_ms = answered.result
        offer, connection, _ = next(
            item for label, item in labelled if label == answered.answered_by
        )
        cost = offer.cost(result)
        usage = usage_row(
            user_id,
            task,
            integration=offer.integration,
            model=result.model,
            connection_id=connection.id,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cost=cost,
            latency_ms=latency_ms,
            skipped=answered.skipped,
        )
        stored_text = result.text if offer.leaves_machine else masker.mask(result.text)
        state.answers.put(
            key,
            CachedAnswer(
                user_id, offer.integration, result.model, stored_text, usage["created_at"]
            ),
        )
        state.writer.add(
            usage,
            {
                "key": key,
                "user_id": user_id,
                "integration": offer.integration,
                "model": result.model,
                "text": stored_text,
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "created_at": usage["created_at"],
            },
        )
        text = masker.restore(result.text) if offer.leaves_machine else result.text
        return RoutedAnswer(
            text, offer.integration, result.model, cost, latency_ms, False, answered.skipped
        )


router = Router()
