"""In-process domain events: quota thresholds, connections needing the user, and later every
webhook-worthy change. Subscribers are awaited in order; a failing subscriber is logged and
does not stop the others or the code that published."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from gigforge.kit.clock import utcnow
from gigforge.kit.redaction import redact

logger = structlog.get_logger("gigforge.events")


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]
    user_id: uuid.UUID | None = None
    occurred_at: datetime = field(default_factory=utcnow)


Subscriber = Callable[[Event], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(
        self, name: str, data: dict[str, Any], *, user_id: uuid.UUID | None = None
    ) -> Event:
        safe = redact(data)
        assert isinstance(safe, dict)
        event = Event(name=name, data=safe, user_id=user_id)
        logger.info("event", name=name, **safe)
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:
                logger.exception("event subscriber failed", name=name)
        return event
