from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gigforge.kit.schemas import OutputSchema
from gigforge.kit.tasks import TaskState


class TaskRead(OutputSchema):
    id: uuid.UUID
    name: str
    args: dict[str, Any]
    state: TaskState
    attempts: int
    max_attempts: int
    last_error: str | None
    due_at: datetime
    created_at: datetime
    finished_at: datetime | None
