"""What the admin task tools refuse, as problems."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, NotFound


class TaskNotFound(NotFound):
    code = "task-not-found"
    title = "No such task"


class TaskNotDead(Conflict):
    """Retrying or discarding a task that is still queued, running or done."""

    code = "task-not-dead"
    title = "The task is not dead"
