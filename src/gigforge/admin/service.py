"""Dead work made visible: list tasks by state, retry or discard the dead ones, audited.

Authorization is the caller's: the API and dashboard let only admins in, and the CLI is run
by whoever operates the server. The actor passed in is who the audit log names.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.admin.errors import TaskNotDead, TaskNotFound
from gigforge.admin.repository import TaskRepository
from gigforge.audit.service import audit as audit_service
from gigforge.kit.actor import Actor
from gigforge.kit.pagination import PageParams
from gigforge.kit.tasks import TaskRow, TaskState, requeue


class AdminTaskService:
    async def list(
        self,
        session: AsyncSession,
        actor: Actor,
        *,
        state: TaskState | None,
        page: PageParams,
    ) -> tuple[Sequence[TaskRow], int]:
        return await TaskRepository(session).list_in_state(state, page)

    async def get(self, session: AsyncSession, actor: Actor, *, task_id: uuid.UUID) -> TaskRow:
        task = await TaskRepository(session).get(task_id)
        if task is None:
            raise TaskNotFound(f"No task has the id {task_id}")
        return task

    async def retry(self, session: AsyncSession, actor: Actor, *, task_id: uuid.UUID) -> TaskRow:
        """Back to pending with fresh attempts, sent to a worker once this unit of work commits."""
        repository = TaskRepository(session)
        if not await requeue(session, task_id):
            raise await self._refusal(repository, task_id, "retried")
        task = await repository.reload(task_id)
        assert task is not None  # just updated in this transaction
        await audit_service.record(
            session,
            actor,
            action="task.retried",
            target_type="task",
            target_id=task.id,
            data={"name": task.name, "last_error": task.last_error},
        )
        return task

    async def discard(self, session: AsyncSession, actor: Actor, *, task_id: uuid.UUID) -> TaskRow:
        """Set a dead task aside for good; it stays listed (and retryable) as discarded."""
        repository = TaskRepository(session)
        if not await repository.discard(task_id):
            raise await self._refusal(repository, task_id, "discarded", allowed="dead")
        task = await repository.reload(task_id)
        assert task is not None
        await audit_service.record(
            session,
            actor,
            action="task.discarded",
            target_type="task",
            target_id=task.id,
            data={"name": task.name, "last_error": task.last_error},
        )
        return task

    async def _refusal(
        self,
        repository: TaskRepository,
        task_id: uuid.UUID,
        verb: str,
        *,
        allowed: str = "dead or discarded",
    ) -> TaskNotFound | TaskNotDead:
        task = await repository.reload(task_id)
        if task is None:
            return TaskNotFound(f"No task has the id {task_id}")
        return TaskNotDead(
            f"Task {task.name} ({task.id}) is {task.state.value}; only {allowed} tasks can be "
            f"{verb}",
            state=task.state.value,
        )


admin_tasks = AdminTaskService()
