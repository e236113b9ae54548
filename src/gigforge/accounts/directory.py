"""Names for ids: who a user id or an API key id is, for pages that show records about them.

Scoped like the rest of accounts: a member learns only their own email and their own keys'
names; an admin, who reads everyone's audit records, learns everyone's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import APIKeyRepository, UserRepository

MAX_LOOKUPS = 200


@dataclass(frozen=True)
class Names:
    users: dict[uuid.UUID, str] = field(default_factory=dict)
    api_keys: dict[uuid.UUID, str] = field(default_factory=dict)


class DirectoryService:
    async def names(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        user_ids: Iterable[uuid.UUID | None],
        api_key_ids: Iterable[uuid.UUID | None],
    ) -> Names:
        wanted_users = [i for i in dict.fromkeys(user_ids) if i is not None][:MAX_LOOKUPS]
        wanted_keys = [i for i in dict.fromkeys(api_key_ids) if i is not None][:MAX_LOOKUPS]
        names = Names()
        users = UserRepository(session)
        for user_id in wanted_users:
            if user_id == principal.user_id:
                names.users[user_id] = principal.user.email
            elif principal.is_admin:
                user = await users.get(user_id)
                if user is not None:
                    names.users[user_id] = user.email
        keys = APIKeyRepository(session)
        for key_id in wanted_keys:
            key = await keys.get(key_id)
            if key is not None and (key.user_id == principal.user_id or principal.is_admin):
                names.api_keys[key_id] = key.name
        return names


directory = DirectoryService()
