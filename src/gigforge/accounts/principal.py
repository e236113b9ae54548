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
    oauth_grant_id: uuid.UUID | None = None

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @property
    def rate_limit_key(self) -> str:
        """Whose API rate limit a call spends: an API key and an OAuth app's grant have their
        own, the user's sessions share the user's."""
        if self.api_key_id is not None:
            return f"api-key:{self.api_key_id}"
        if self.oauth_grant_id is not None:
            return f"oauth-grant:{self.oauth_grant_id}"
        return f"user:{self.user.id}"

    @property
    def is_admin(self) -> bool:
        return Scope.admin in self.scopes

    @property
    def actor(self) -> Actor:
        return Actor(user_id=self.user.id, api_key_id=self.api_key_id, ip=self.ip)
