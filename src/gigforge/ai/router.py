"""The model router: which model answers a task, within which budget, with which data.

For a task (proposal, analysis, writing, code, summary, and the agents' research,
translation, data and judge) it takes the user's connected LLMs and
the models each one's integration declares in its spec (`IntegrationSpec.models`, with prices),
keeps the offers good enough for the task and large enough for the request, orders them
cheapest first (declared price, then latency), drops those whose estimated cost breaks the
per-task cap, answers from the cache when the same (masked) request was answered before, takes
room for the dearest remaining estimate in the user's monthly budget, reserved in the database
(refusing the call when it does not fit), masks personal data for models outside this machine,
and walks the fallback chain, recording which model answered, its cost and its latency.

One router per process, built with the process's database and held in its state (the app's
`app.state.router`, the worker's `Process.router`); nothing about it is global. It keeps in
memory each user's LLM connections (`_UserView`, with open connectors in `pool.ConnectorPool`),
recent answers (`answers.AnswerCache`) and the rows still to be written (`usage.UsageWriter`),
each saying how it stays true to the database, and the room it reserved ahead in users'
budgets (`grants.Grants`). Spend itself is not kept: the budget is a row every process
reserves against (`spend`), so it holds across any number of processes. The process's
shutdown calls `close`, so nothing recorded is left unwritten and nothing reserved is kept.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.ai.answers import CACHE_TTL, AnswerCache, CachedAnswer
from gigforge.ai.grants import Grants, Taken
from gigforge.ai.masking import Masker
from gigforge.ai.pool import ConnectorPool
from gigforge.ai.spend import Refusal
from gigforge.ai.usage import UsageWriter, usage_row
from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import Connection, chain_version, detached
from gigforge.connections.service import connections as connection_service
from gigforge.integrations.framework import (
    LLM,
    Capability,
    ChatMessage,
    ChatRequest,
    ChatResult,
    Registry,
    UnknownIntegration,
)
from gigforge.integrations.framework.fallback import NoProviderAnswered, first_answer
from gigforge.integrations.framework.registry import IntegrationUnavailable
from gigforge.integrations.framework.spec import ModelOffer, ModelTask
from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database
from gigforge.kit.errors import Forbidden, ServiceUnavailable

logger = structlog.get_logger("gigforge.ai")

DEFAULT_COMPLETION_TOKENS = 512
# How long this process trusts what it read about a user's connections and cached answers
# before reading again: the longest it may miss what another process changed.
REFRESH_SECONDS = 5.0

Task = ModelTask

# The least declared quality a model needs for each task.
TASK_MIN_QUALITY = {
    Task.proposal: 0.7,
    Task.analysis: 0.6,
    Task.writing: 0.7,
    Task.code: 0.8,
    Task.summary: 0.5,
    Task.research: 0.6,
    Task.translation: 0.7,
    Task.data: 0.7,
    Task.judge: 0.7,
}

# The built-in last resort for tasks it declares models for: never AI, labelled as such.
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


@dataclass(frozen=True)
class Candidate:
    """A declared model of one of the user's connections, with the request's estimated cost."""

    integration: str
    offer: ModelOffer
    connection: Connection
    estimate: int

    @property
    def label(self) -> str:
        return f"{self.integration}:{self.offer.name}@{self.connection.name}"

    def cost(self, result: ChatResult) -> int:
        if result.cost_micro_usd is not None:
            return result.cost_micro_usd
        return self.offer.estimate(result.usage.prompt_tokens, result.usage.completion_tokens)


def declared_models(registry: Registry, integration: str) -> tuple[ModelOffer, ...]:
    """The models an installed integration's spec declares; none for one not installed."""
    try:
        return registry.get(integration).spec.models
    except (UnknownIntegration, IntegrationUnavailable):
        return ()


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


def _dollars(micro_usd: int) -> str:
    return f"${micro_usd / 1e6:.2f}"


@dataclass
class _UserView:
    """A user's active LLM connections in fallback order, as last read, and when."""

    chain: tuple[Connection, ...]
    version: int
    read_at: float  # time.monotonic()
    answers_read_at: datetime


class Router:
    """The process's model router, for its one database."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._views: dict[uuid.UUID, _UserView] = {}
        self._answers = AnswerCache()
        self._writer = UsageWriter(database.engine)
        self._grants = Grants(database.engine, self._writer)
        self._connectors = ConnectorPool()

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
        """The declared, priced models fit for the task and the request's size, of each of
        the user's connections, cheapest first."""
        view = await self._view(session, user_id, context=context)
        found = [
            Candidate(
                connection.integration,
                offer,
                connection,
                offer.estimate(prompt_tokens, completion_tokens),
            )
            for connection in view.chain
            for offer in declared_models(context.registry, connection.integration)
            if task in offer.tasks
            and offer.quality >= TASK_MIN_QUALITY[task]
            and offer.priced
            and offer.context_window >= prompt_tokens + completion_tokens
        ]
        found.sort(
            key=lambda item: (item.estimate, item.offer.latency_ms, item.connection.priority)
        )
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
        """Answer with a model; when no model is connected or none answers, and the template
        writer declares a template for the task and its variables are given, answer from the
        template (not AI)."""
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
            if template_variables is None:
                raise
            return await self._from_template(
                user_id,
                context=context,
                task=task,
                variables=template_variables,
                skipped=tuple(exc.extensions.get("skipped") or ()),
                unanswered=exc,
            )

    async def flush(self) -> None:
        """Write every row recorded so far, settling their calls' reservations."""
        await self._writer.flush()

    async def close(self) -> None:
        """Give back what is reserved ahead, write what is left and close the pooled
        connectors: for the process's shutdown."""
        self._grants.retire_all()
        await self._writer.close()
        await self._connectors.close()

    async def _view(
        self, session: AsyncSession, user_id: uuid.UUID, *, context: IntegrationContext
    ) -> _UserView:
        """The user's chain, read again after a change in this process or REFRESH_SECONDS."""
        view = self._views.get(user_id)
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
            await self._answers.warm(session, user_id, since=since)
            read_at, answers_read_at = now, started - timedelta(seconds=REFRESH_SECONDS)
        else:
            read_at, answers_read_at = view.read_at, view.answers_read_at
        view = _UserView(
            tuple(detached(connection) for connection in chain), version, read_at, answers_read_at
        )
        self._views[user_id] = view
        await self._connectors.keep_only(user_id, {connection.id for connection in view.chain})
        return view

    async def _from_template(
        self,
        user_id: uuid.UUID,
        *,
        context: IntegrationContext,
        task: Task,
        variables: Mapping[str, Any],
        skipped: tuple[tuple[str, str], ...],
        unanswered: Exception,
    ) -> RoutedAnswer:
        try:
            writer_class = context.registry.get(TEMPLATE_WRITER)
        except (UnknownIntegration, IntegrationUnavailable):
            raise NoModelAvailable(
                f"No model can do this {task.value} and the template writer is not installed"
            ) from None
        spec = writer_class.spec
        template = next((offer for offer in spec.models if task in offer.tasks), None)
        if template is None:
            raise unanswered
        writer = writer_class(
            context.runtime.client(spec, connection="built-in"), spec.config_model()
        )
        if not isinstance(writer, LLM):
            raise NoModelAvailable("the template writer is not a writer")
        request = ChatRequest(
            model=template.name,
            messages=[ChatMessage(role="user", content=json.dumps(dict(variables), default=str))],
        )
        async with writer.client:
            result = await writer.chat(request)
        self._writer.add(
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
        candidates = await self.candidates(
            session,
            user_id,
            context=context,
            task=task,
            prompt_tokens=estimate_tokens(messages),
            completion_tokens=completion_tokens,
        )
        if not candidates:
            raise NoModelAvailable(
                f"Connect a model good enough for {task.value} (Settings > Connections)"
            )
        affordable = [item for item in candidates if item.estimate <= budgets.per_task_micro_usd]
        if not affordable:
            raise BudgetExceeded(
                f"The cheapest model would cost about ${candidates[0].estimate / 1e6:.4f}, over "
                f"the ${budgets.per_task_micro_usd / 1e6:.4f} cap for one {task.value} request"
            )
        masker = Masker(names=tuple(names))
        masked = [ChatMessage(role=m.role, content=masker.mask(m.content)) for m in messages]
        key = _cache_key(user_id, task, masked, max_tokens)
        hit = self._answers.get(key, user_id, utcnow())
        if hit is not None:
            # A cached answer costs nothing, so it needs no room in the budget.
            self._writer.add(
                usage_row(user_id, task, integration=hit.integration, model=hit.model, cached=True)
            )
            return RoutedAnswer(masker.restore(hit.text), hit.integration, hit.model, 0, 0, True)
        taken, within = await self._reserve(user_id, affordable, budgets)
        try:
            return await self._ask(
                user_id,
                session,
                context=context,
                task=task,
                messages=messages,
                masked=masked,
                masker=masker,
                key=key,
                candidates=within,
                taken=taken,
                max_tokens=max_tokens,
                temperature=temperature,
            )
        except BaseException:
            self._grants.give_back(taken)
            raise

    async def _reserve(
        self, user_id: uuid.UUID, affordable: Sequence[Candidate], budgets: Budgets
    ) -> tuple[Taken, list[Candidate]]:
        """Take room for the dearest estimate among the candidates, since a fallback may
        answer; when the budget has none for it, for the dearest of those that still fit. A
        refusal first writes this process's answered calls and retired grants, whose
        settlements may free some of the room their reservations hold."""
        within = list(affordable)
        refusal = Refusal(0, 0)
        for attempt in range(3):
            outcome = await self._grants.take(
                user_id,
                max(item.estimate for item in within),
                budget=budgets.monthly_micro_usd,
                now=utcnow(),
            )
            if isinstance(outcome, Taken):
                return outcome, within
            refusal = outcome
            if attempt == 0:
                await self._writer.flush()
                continue
            room = budgets.monthly_micro_usd - refusal.spent - refusal.reserved
            within = [item for item in within if item.estimate <= room]
            if not within:
                break
        held = f", {_dollars(refusal.reserved)} held by calls under way" if refusal.reserved else ""
        raise BudgetExceeded(
            f"This month's AI budget of {_dollars(budgets.monthly_micro_usd)} is spent "
            f"({_dollars(refusal.spent)} used{held})"
        )

    async def _ask(
        self,
        user_id: uuid.UUID,
        session: AsyncSession,
        *,
        context: IntegrationContext,
        task: Task,
        messages: Sequence[ChatMessage],
        masked: Sequence[ChatMessage],
        masker: Masker,
        key: str,
        candidates: Sequence[Candidate],
        taken: Taken,
        max_tokens: int | None,
        temperature: float | None,
    ) -> RoutedAnswer:
        """The first candidate that answers; its usage settles what the call took."""

        async def ask(item: Candidate) -> tuple[ChatResult, int]:
            request = ChatRequest(
                model=item.offer.name,
                messages=list(masked) if item.offer.leaves_machine else list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
            )
            async with self._connectors.lease(
                session, context=context, connection=item.connection
            ) as connector:
                if not isinstance(connector, LLM):
                    raise NoModelAvailable(f"{item.integration} is not a language model")
                started = time.perf_counter()
                result = await connector.chat(request)
            return result, int((time.perf_counter() - started) * 1000)

        labelled = [(item.label, item) for item in candidates]
        answered = await first_answer(labelled, ask)
        result, latency_ms = answered.result
        chosen = next(item for label, item in labelled if label == answered.answered_by)
        cost = chosen.cost(result)
        usage = usage_row(
            user_id,
            task,
            integration=chosen.integration,
            model=result.model,
            connection_id=chosen.connection.id,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cost=cost,
            latency_ms=latency_ms,
            skipped=answered.skipped,
        )
        leaves = chosen.offer.leaves_machine
        stored_text = result.text if leaves else masker.mask(result.text)
        self._answers.put(
            key,
            CachedAnswer(
                user_id, chosen.integration, result.model, stored_text, usage["created_at"]
            ),
        )
        self._writer.add(
            usage,
            {
                "key": key,
                "user_id": user_id,
                "integration": chosen.integration,
                "model": result.model,
                "text": stored_text,
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "created_at": usage["created_at"],
            },
            (taken.reservation, taken.amount),
        )
        text = masker.restore(result.text) if leaves else result.text
        return RoutedAnswer(
            text, chosen.integration, result.model, cost, latency_ms, False, answered.skipped
        )
