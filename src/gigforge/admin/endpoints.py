"""Admin-only API: dead background work, listed, retried and discarded."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.admin.errors import TaskNotDead, TaskNotFound
from gigforge.admin.schemas import TaskRead
from gigforge.admin.service import admin_tasks as admin_task_service
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import Unauthorized
from gigforge.kit.pagination import Page, PageParamsDep, page_of
from gigforge.kit.problems import problem_responses
from gigforge.kit.tasks import TaskState

router = APIRouter(prefix="/admin/tasks", tags=["admin"])

Admin = Annotated[Principal, RequireScope(Scope.admin)]
_ADMIN_ERRORS = (Unauthorized, InvalidToken, InsufficientScope)


@router.get("", response_model=Page[TaskRead], responses=problem_responses(*_ADMIN_ERRORS))
async def list_tasks(
    session: SessionDep,
    page: PageParamsDep,
    principal: Admin,
    state: Annotated[
        TaskState | None, Query(description="Only tasks in this state; `dead` for dead work")
    ] = None,
) -> Page[TaskRead]:
    """Background tasks, newest first (admins only)."""
    items, total = await admin_task_service.list(session, principal.actor, state=state, page=page)
    return page_of(TaskRead, items, total, page)


@router.post(
    "/{task_id}/retry",
    response_model=TaskRead,
    responses=problem_responses(*_ADMIN_ERRORS, TaskNotFound, TaskNotDead),
)
async def retry_task(task_id: uuid.UUID, session: SessionDep, principal: Admin) -> TaskRead:
    """Run a dead or discarded task again with fresh attempts (admins only; audited)."""
    task = await admin_task_service.retry(session, principal.actor, task_id=task_id)
    return TaskRead.model_validate(task)


@router.post(
    "/{task_id}/discard",
    response_model=TaskRead,
    responses=problem_responses(*_ADMIN_ERRORS, TaskNotFound, TaskNotDead),
)
async def discard_task(task_id: uuid.UUID, session: SessionDep, principal: Admin) -> TaskRead:
    """Set a dead task aside without running it (admins only; audited)."""
    task = await admin_task_service.discard(session, principal.actor, task_id=task_id)
    return TaskRead.model_validate(task)
