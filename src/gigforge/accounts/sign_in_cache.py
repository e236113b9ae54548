"""Authenticated reads without a database round trip, and without weakening revocation.

Each process keeps the users of recently checked sign-ins, each stamped with the database's
change counter read *before* the check. A request whose stamp still matches skips the query:
nothing was committed anywhere since the check, so the session is still live and the user
still active with the same role. Any commit by any connection or process (a sign-out, a
password change, a role change, a deactivation, or anything else) moves the counter, so the
next request in every process checks again.

The counter is SQLite's `PRAGMA data_version`, read on a read-only connection of this process
that never writes (a few microseconds, no thread hop). It changes when another connection
commits, and every write goes through another connection. PostgreSQL has no such counter: there
each request runs the one indexed query, which asyncpg makes cheap.

Verified access tokens are kept too (by their exact text, which only a valid signature put
there); their expiry is still checked on every request.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import make_transient_to_detached

from gigforge.accounts.models import User
from gigforge.accounts.tokens import AccessClaims
from gigforge.kit.clock import utcnow

MAX_ENTRIES = 10_000

Stamp = Callable[[], int | None]


def _no_stamp() -> int | None:
    return None


def sqlite_stamp(path: str) -> Stamp:
    """The change counter of the SQLite file at `path`; None when it cannot be read."""
    connection: sqlite3.Connection | None = None

    def read() -> int | None:
        nonlocal connection
        try:
            if connection is None:
                connection = sqlite3.connect(
                    f"file:{path}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=0.05,
                )
            row = connection.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            connection = None
            return None
        return int(row[0])

    return read


def stamp_for(url: str) -> Stamp:
    """A change counter for the database at `url`, or one that always says "unknown"."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return _no_stamp
    if path.startswith("file:") or parsed.query.get("mode") == "memory":
        return _no_stamp
    return sqlite_stamp(path)


@dataclass(frozen=True)
class Checked:
    """What a check found; `user` is detached and never handed out as it is: requests merge
    it into their own session."""

    stamp: int
    user: User
    scopes: frozenset[str] = frozenset()
    api_key_id: uuid.UUID | None = None
    fresh_until: datetime | None = None  # an API key: expiry, or when last use is due a write


def _detached_copy(user: User) -> User:
    values: dict[str, Any] = {
        attribute.key: getattr(user, attribute.key) for attribute in inspect(User).column_attrs
    }
    copy = User(**values)
    make_transient_to_detached(copy)
    return copy


class SignInCache:
    """Per process and per database; see the module docstring for why it is safe."""

    def __init__(self, stamp: Stamp, *, max_entries: int = MAX_ENTRIES) -> None:
        self._stamp = stamp
        self._max_entries = max_entries
        self._checked: dict[Hashable, Checked] = {}
        self._tokens: dict[str, AccessClaims] = {}

    @classmethod
    def for_database(cls, url: str) -> SignInCache:
        return cls(stamp_for(url))

    def claims(self, token: str) -> AccessClaims | None:
        """Claims of a token verified before, while it has not expired."""
        claims = self._tokens.get(token)
        if claims is None:
            return None
        if claims.expires_at <= utcnow():
            del self._tokens[token]
            return None
        return claims

    def remember_claims(self, token: str, claims: AccessClaims) -> None:
        self._bounded(self._tokens)
        self._tokens[token] = claims

    def stamp(self) -> int | None:
        """Read before the check whose result `remember` stores."""
        return self._stamp()

    def checked(self, credential: Hashable) -> Checked | None:
        """A check of `credential` made since the last commit anywhere, while still fresh."""
        checked = self._checked.get(credential)
        if checked is None:
            return None
        if checked.stamp != self._stamp() or (
            checked.fresh_until is not None and checked.fresh_until <= utcnow()
        ):
            del self._checked[credential]
            return None
        return checked

    def remember(
        self,
        credential: Hashable,
        user: User,
        *,
        stamp: int | None,
        scopes: frozenset[str] = frozenset(),
        api_key_id: uuid.UUID | None = None,
        fresh_until: datetime | None = None,
    ) -> None:
        if stamp is None:
            return
        self._bounded(self._checked)
        self._checked[credential] = Checked(
            stamp, _detached_copy(user), scopes, api_key_id, fresh_until
        )

    def _bounded(self, entries: dict[Any, Any]) -> None:
        while len(entries) >= self._max_entries:
            del entries[next(iter(entries))]
