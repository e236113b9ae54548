"""Running an agent task, once per round, through the quality gate.

The task `jobs.run_task` follows the backbone's pattern for work outside the database:

1. claim the task's round (`running`, a lease, one more run) in a short transaction, and read
   what the agent needs;
2. with no transaction open, run the agent through the quality gate (`gigforge.agents.quality`):
   every model call goes through the model router (budgets, masking, fallback), then store the
   files it produced under keys fixed by (task, version);
3. record the deliverables, the scores and the task's state in a second transaction, fenced on
   the claim, and let the job move on (to review when its round is done).

A worker killed mid-run leaves the task `running` with a lease that runs out; the engine runs
the task again, which claims the same round and writes the same version under the same keys,
so the unique (task, version, name) key leaves one row per file: no duplicate deliverables.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import and_, or_, update

from gigforge.agents import (
    AgentFailed,
    Answer,
    JudgeFailed,
    SandboxUnavailable,
    StepCapReached,
    TaskBrief,
    UnknownAgent,
)
from gigforge.agents.quality import GateResult, run_with_gate
from gigforge.ai.router import BudgetExceeded, Budgets, NoModelAvailable, Router
from gigforge.connections.context import IntegrationContext
from gigforge.integrations.framework import ChatMessage
from gigforge.integrations.framework.fallback import NoProviderAnswered
from gigforge.integrations.framework.spec import ModelTask
from gigforge.jobs.catalog import agents
from gigforge.jobs.models import Deliverable, Job, JobTask
from gigforge.jobs.repository import DeliverableRepository
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import JobStatus, TaskStatus
from gigforge.kit.clock import utcnow
from gigforge.kit.db import unit_of_work
from gigforge.storage import Storage, StoredObject, user_key

logger = structlog.get_logger("gigforge.jobs")

MAX_GATE_ATTEMPTS = 3
PREVIEW_CHARS = 600
TEXT_TYPES = ("text/", "application/json")


@dataclass(frozen=True)
class _Claimed:
    task_id: uuid.UUID
    job_id: uuid.UUID
    user_id: uuid.UUID
    agent: str
    version: int
    revision: int
    runs: int
    threshold: float
    brief: TaskBrief


class RouterCall:
    """The agents' one way to a model: the user's router, with the process's budgets. Each call
    reads the user's connections in its own short session, closed before the model answers."""

    def __init__(self, context: IntegrationContext, router: Router, user_id: uuid.UUID) -> None:
        self._context = context
        self._router = router
        self._user_id = user_id
        settings = context.settings
        self._budgets = Budgets(
            per_task_micro_usd=settings.ai_task_budget_micro_usd,
            monthly_micro_usd=settings.ai_monthly_budget_micro_usd,
        )

    async def __call__(
        self, *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        async with self._context.database.sessionmaker() as session:
            answer = await self._router.complete(
                session,
                self._user_id,
                context=self._context,
                task=task,
                messages=messages,
                budgets=self._budgets,
                max_tokens=max_tokens,
            )
        return Answer(
            text=answer.text,
            cost_micro_usd=answer.cost_micro_usd,
            label=f"{answer.integration}:{answer.model}",
        )


async def run_task(
    context: IntegrationContext,
    router: Router,
    storage: Storage,
    task_id: uuid.UUID,
    *,
    version: int,
    lease: timedelta,
) -> TaskStatus | None:
    """Claim, run, record; None when there is nothing to do (a later round, cancelled, done)."""
    claimed = await _claim(context, task_id, version, lease)
    if claimed is None:
        return None
    try:
        agent = agents().get(claimed.agent)
        with tempfile.TemporaryDirectory(prefix="gigforge-agent-") as folder:
            result = await run_with_gate(
                agent,
                claimed.brief,
                RouterCall(context, router, claimed.user_id),
                Path(folder),
                threshold=claimed.threshold,
                budget_cap_micro_usd=context.settings.agent_task_budget_micro_usd,
                max_attempts=MAX_GATE_ATTEMPTS,
            )
    except (
        AgentFailed,
        JudgeFailed,
        SandboxUnavailable,
        StepCapReached,
        UnknownAgent,
        BudgetExceeded,
        NoModelAvailable,
        NoProviderAnswered,
    ) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        logger.warning("agent task failed", task=str(task_id), reason=detail)
        return await _record(context, claimed, failed=str(detail)[:500])
    stored = [
        await storage.put(
            _key(claimed, produced.name),
            produced.content,
            content_type=produced.media_type,
            metadata={"job": str(claimed.job_id), "version": str(claimed.version)},
        )
        for produced in result.output.files
    ]
    return await _record(context, claimed, result=result, stored=stored)


def _key(claimed: _Claimed, name: str) -> str:
    return user_key(
        claimed.user_id, f"jobs/{claimed.job_id}/tasks/{claimed.task_id}/v{claimed.version}/{name}"
    )


async def _claim(
    context: IntegrationContext, task_id: uuid.UUID, version: int, lease: timedelta
) -> _Claimed | None:
    now = utcnow()
    async with unit_of_work(context.database) as session:
        taken = await session.execute(
            update(JobTask)
            .where(
                JobTask.id == task_id,
                JobTask.version == version,
                or_(
                    JobTask.status == TaskStatus.queued,
                    and_(JobTask.status == TaskStatus.running, JobTask.claimed_until < now),
                ),
            )
            .values(
                status=TaskStatus.running,
                claimed_until=now + lease,
                runs=JobTask.runs + 1,
                started_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return None
        task = await session.get(JobTask, task_id, populate_existing=True)
        assert task is not None
        job = await session.get(Job, task.job_id)
        assert job is not None
        if job.status not in (JobStatus.active, JobStatus.in_progress):
            task.status = TaskStatus.cancelled
            task.claimed_until = None
            return None
        await job_service.task_changed(session, job, task)
        return _Claimed(
            task_id=task.id,
            job_id=job.id,
            user_id=job.user_id,
            agent=task.agent,
            version=task.version,
            revision=job.revision,
            runs=task.runs,
            threshold=job.quality_threshold,
            brief=TaskBrief(
                title=job.title,
                instructions=task.description,
                kind=task.kind,
                requirements=dict(task.requirements or {}),
                feedback=task.feedback,
            ),
        )


async def _record(
    context: IntegrationContext,
    claimed: _Claimed,
    *,
    result: GateResult | None = None,
    stored: Sequence[StoredObject] = (),
    failed: str | None = None,
) -> TaskStatus | None:
    """The outcome, fenced on the claim: a run whose round or lease was taken over records
    nothing, and a round whose files are recorded already is not recorded twice."""
    async with unit_of_work(context.database) as session:
        task = await session.get(JobTask, claimed.task_id, with_for_update=True)
        if task is None or task.version != claimed.version or task.status is not TaskStatus.running:
            return None
        if task.runs != claimed.runs:
            return None
        job = await session.get(Job, claimed.job_id, with_for_update=True)
        assert job is not None
        task.claimed_until = None
        task.finished_at = utcnow()
        if result is None:
            task.status = TaskStatus.failed
            task.error = failed
        else:
            if not await DeliverableRepository(session).of_round(task.id, task.version):
                for produced, kept in zip(result.output.files, stored, strict=True):
                    session.add(
                        Deliverable(
                            job_id=job.id,
                            task_id=task.id,
                            version=task.version,
                            revision=job.revision,
                            name=produced.name,
                            media_type=produced.media_type,
                            size=kept.size,
                            sha256=kept.sha256,
                            storage_key=kept.key,
                            storage_version=kept.version_id,
                            preview=_preview(produced.media_type, produced.content),
                            quality_score=result.verdict.score if result.verdict else None,
                            feedback=task.feedback,
                        )
                    )
            task.status = TaskStatus.below_threshold if result.below_threshold else TaskStatus.done
            task.error = None
            task.attempts = len(result.attempts)
            task.cost_micro_usd = result.cost_micro_usd
            verdict = result.verdict
            task.quality_score = verdict.score if verdict else None
            task.disagreement = verdict.disagreement if verdict else None
            task.judge_reasons = verdict.reasons if verdict else None
            task.report = _report(result)
        await session.flush()
        await job_service.task_changed(session, job, task)
        status = task.status
    return status


def _preview(media_type: str, content: bytes) -> str:
    if not media_type.startswith(TEXT_TYPES):
        return ""
    return content[: PREVIEW_CHARS * 4].decode("utf-8", "replace")[:PREVIEW_CHARS]


def _report(result: GateResult) -> dict[str, Any]:
    """What the job page shows of a round: each attempt's checks and judges, and the steps."""
    return {
        "attempts": [attempt.model_dump(mode="json") for attempt in result.attempts],
        "checks": [check.model_dump(mode="json") for check in result.checks],
        "samples": [s.model_dump(mode="json") for s in result.verdict.samples]
        if result.verdict
        else [],
        "steps": [step.model_dump(mode="json") for step in result.output.steps],
    }
