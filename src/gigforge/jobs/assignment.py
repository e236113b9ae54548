"""The agents as a user sees them, and assigning, following and retrying their tasks.

An agent is `available` to a user when one of the user's model connections offers a model fit
for the agent's kind of work (the router's own candidates, so what is shown is what would be
used) and the user's tasks for it in flight are under the agent's concurrency cap. Its
`average_quality_score` is the mean judge score of the user's tasks it finished.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.agents import AgentSpec
from gigforge.agents import UnknownAgent as NoSuchAgent
from gigforge.ai.router import Router
from gigforge.audit.service import audit as audit_service
from gigforge.connections.context import IntegrationContext
from gigforge.jobs.catalog import agents as installed
from gigforge.jobs.errors import (
    AgentBusy,
    InvalidJobTransition,
    InvalidTaskState,
    JobNotFound,
    TaskNotFound,
    UnknownAgent,
)
from gigforge.jobs.models import JobTask
from gigforge.jobs.planning import PlannedTask
from gigforge.jobs.repository import JobRepository, TaskRepository
from gigforge.jobs.service import jobs as job_service
from gigforge.jobs.states import RETRYABLE, WORKING, JobStatus
from gigforge.kit.errors import ValidationFailed

# A typical step's size, for asking the router which models would take it.
_STEP_PROMPT_TOKENS = 1500
_STEP_COMPLETION_TOKENS = 1200


@dataclass(frozen=True)
class AgentStanding:
    spec: AgentSpec
    available: bool
    reason: str | None
    running: int
    average_quality_score: float | None


class AgentService:
    def agents(self) -> Sequence[AgentSpec]:
        return installed().all()

    def agent(self, agent_id: str) -> AgentSpec:
        try:
            return installed().get(agent_id).spec
        except NoSuchAgent:
            known = ", ".join(spec.slug for spec in installed().all())
            raise UnknownAgent(
                f"No agent is called {agent_id!r}; the agents are: {known}"
            ) from None

    async def scores(self, session: AsyncSession, principal: Principal) -> dict[str, float]:
        """Each agent's mean judge score over the user's scored tasks."""
        return await TaskRepository(session).scores_by_agent(principal.user_id)

    async def standings(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        router: Router,
    ) -> list[AgentStanding]:
        tasks = TaskRepository(session)
        scores = await tasks.scores_by_agent(principal.user_id)
        found: list[AgentStanding] = []
        for spec in installed().all():
            running = await tasks.running_for_agent(principal.user_id, spec.slug)
            models = await router.candidates(
                session,
                principal.user_id,
                context=context,
                task=spec.model_task,
                prompt_tokens=_STEP_PROMPT_TOKENS,
                completion_tokens=_STEP_COMPLETION_TOKENS,
            )
            reason = None
            if not models:
                reason = f"No connected model can do {spec.model_task.value} work"
            elif running >= spec.max_concurrency:
                reason = f"{running} tasks in flight, its limit is {spec.max_concurrency}"
            found.append(
                AgentStanding(spec, reason is None, reason, running, scores.get(spec.slug))
            )
        return found

    async def assign(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        job_id: uuid.UUID,
        agent_id: str,
        description: str,
        requirements: dict[str, object],
        kind: str | None = None,
    ) -> JobTask:
        """A new task on one of the user's jobs, queued for the agent."""
        spec = self.agent(agent_id)
        chosen = kind or spec.capabilities[0]
        if chosen not in spec.capabilities:
            raise ValidationFailed(
                f"The {spec.name} does {', '.join(spec.capabilities)}, not {chosen!r}"
            )
        job = await JobRepository(session).locked(job_id)
        if job is None or job.user_id != principal.user_id:
            raise JobNotFound("No such job")
        if job.status not in WORKING:
            raise InvalidJobTransition(f"A {job.status.value} job takes no new tasks")
        running = await TaskRepository(session).running_for_agent(principal.user_id, spec.slug)
        if running >= spec.max_concurrency:
            raise AgentBusy(
                f"The {spec.name} has {running} tasks in flight; its limit is "
                f"{spec.max_concurrency}. Assign this when one finishes."
            )
        task = await job_service.add_task(
            session,
            job,
            PlannedTask(spec.slug, chosen, description, dict(requirements)),
            actor=principal.actor,
        )
        await session.flush()
        return task

    async def task(
        self, session: AsyncSession, principal: Principal, *, task_id: uuid.UUID
    ) -> JobTask:
        task = await TaskRepository(session).get_owned(principal.user_id, task_id)
        if task is None:
            raise TaskNotFound("No such task")
        return task

    async def retry(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        task_id: uuid.UUID,
        feedback: str | None = None,
    ) -> JobTask:
        """Run a finished task again, as its next version, from the user's feedback or the
        judges' last reasons."""
        task = await self.task(session, principal, task_id=task_id)
        if task.status not in RETRYABLE:
            raise InvalidTaskState(f"A {task.status.value} task cannot be retried")
        job = await JobRepository(session).locked(task.job_id)
        assert job is not None
        if job.status not in WORKING:
            raise InvalidJobTransition(f"A task of a {job.status.value} job cannot be retried")
        await job_service.requeue(session, task, feedback=feedback or task.judge_reasons)
        if job.status is JobStatus.review:
            job.approved_at = None
            await job_service.reopen(session, job, principal.actor)
        await job_service.task_changed(session, job, task)
        await audit_service.record(
            session,
            principal.actor,
            action="job.task_retried",
            target_type="job_task",
            target_id=task.id,
            data={"version": task.version},
        )
        await session.flush()
        return task


agents = AgentService()
