"""Who a command run on the server acts as: the account named, or the only account there is."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.repository import UserRepository
from gigforge.accounts.scopes import scopes_for
from gigforge.kit.errors import GigforgeError


class OperatorService:
    async def principal_for(self, session: AsyncSession, email: str | None) -> Principal:
        """The account `email` names or, with no email, the server's single account."""
        users = UserRepository(session)
        if email is not None:
            user = await users.get_by_email(email.lower())
            if user is None:
                raise GigforgeError(f"no account uses {email}")
        else:
            found = await users.first(2)
            if len(found) != 1:
                raise GigforgeError("this server has several accounts (or none): pass --user EMAIL")
            user = found[0]
        return Principal(user=user, scopes=frozenset(scopes_for(user.role)))


operator = OperatorService()
