"""Who is calling: a user, the scopes this call may use, and how they signed in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gigforge.accounts.models import User
from gigforge.accounts.scopes import Scope
from gigforge.kit.actor import Actor


@dataclass(frozen=True)
class Principal:
    user: User
    scopes: frozenset[str]
    session_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    ip: str | None = None

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return Scope.admin in self.scopes

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user.id, api_key_id=self.api_key_id, ip=self.ip)
