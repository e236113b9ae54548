"""Every query the admin task tools run."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import update

from gigforge.kit.pagination import PageParams
from gigforge.kit.repository import Repository
from gigforge.kit.tasks import TaskRow, TaskState


class TaskRepository(Repository[TaskRow]):
    """Tasks belong to the system, not to a user: only admins reach them."""

    model = TaskRow
    owner_column = None

    async def list_in_state(
        self, state: TaskState | None, page: PageParams
    ) -> tuple[Sequence[TaskRow], int]:
        """Newest first: the task that just died is the one an admin came to see."""
        statement = self.statement().order_by(TaskRow.id.desc())
        if state is not None:
            statement = statement.where(TaskRow.state == state)
        return await self.paginate(statement, page)

    async def reload(self, task_id: uuid.UUID) -> TaskRow | None:
        """The row as the database has it now, after an UPDATE that skipped the session."""
        result = await self.session.execute(
            self.statement().where(TaskRow.id == task_id).execution_options(populate_existing=True)
        )
        return result.scalars().first()

    async def discard(self, task_id: uuid.UUID) -> bool:
        """Dead -> discarded in one conditional UPDATE; False if it was not dead."""
        result = await self.session.execute(
            update(TaskRow)
            .where(TaskRow.id == task_id, TaskRow.state == TaskState.dead)
            .values(state=TaskState.discarded)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1
