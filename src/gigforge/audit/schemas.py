from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gigforge.kit.schemas import OutputSchema


class AuditRecordRead(OutputSchema):
    id: uuid.UUID
    seq: int
    occurred_at: datetime
    action: str
    user_id: uuid.UUID | None
    actor_user_id: uuid.UUID | None
    actor_api_key_id: uuid.UUID | None
    actor_ip: str | None
    target_type: str | None
    target_id: str | None
    data: dict[str, Any]
    hash: str
