"""Who did something, for the audit chain and every service that records it.

It lives in kit because every layer names an actor: requests, tasks, the CLI and services.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did something: a user, through one of their API keys or not, from an address."""

    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    ip: str | None = None


SYSTEM = Actor()
"""The server itself: schedules, tasks and commands run by an operator."""
