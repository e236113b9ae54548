"""Which users' connections changed in this process, for caches of connection rows.

The model router keeps each user's chain of LLM connections in memory; it must read them again
once any of them changed. Every ORM write to a connection row counts here when it is flushed,
and again at commit or rollback (a read between the flush and the commit saw the old rows, and a
rollback brings them back). That covers the connection service (create, update, enable,
disable, delete, test) and a refused token refresh marking a connection needs_reauth, wherever
the write comes from. Other processes see a change through the row's `updated_at`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection as DBConnection
from sqlalchemy.orm import Mapper, Session, object_session

from gigforge.connections.models import Connection

# Connection changes made in this process, counted per user: a chain read at an older count is
# read again. One integer per user who changed a connection while the process runs.
_chain_versions: dict[uuid.UUID, int] = {}
_CHANGED_USERS = "gigforge.connections.changed_users"
_CONNECTION_COLUMNS = tuple(column.key for column in inspect(Connection).column_attrs)


def chain_version(user_id: uuid.UUID) -> int:
    """How many times this process saw the user's connections change: a chain read at an
    older count is stale."""
    return _chain_versions.get(user_id, 0)


def _bump_chain(user_id: uuid.UUID) -> None:
    _chain_versions[user_id] = _chain_versions.get(user_id, 0) + 1


def _connection_written(_mapper: Mapper[Connection], _db: DBConnection, target: Connection) -> None:
    """Any ORM write to a connection row drops its user's cached chain when it is flushed.

    That covers the connection service (create, update, enable, disable, delete, test) and a
    refused token refresh marking the connection needs_reauth, wherever the write comes from.
    """
    _bump_chain(target.user_id)
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_CHANGED_USERS, set()).add(target.user_id)


def _transaction_ended(session: Session) -> None:
    """Drop the chain again at commit or rollback: one read between the flush and the commit
    saw the old rows, and a rollback brings them back."""
    for user_id in session.info.pop(_CHANGED_USERS, ()):
        _bump_chain(user_id)


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(Connection, _event, _connection_written)
event.listen(Session, "after_commit", _transaction_ended)
event.listen(Session, "after_rollback", _transaction_ended)


def detached(connection: Connection) -> Connection:
    """A copy no session owns, safe to keep between requests: the session that loaded the
    original may expire or change it. It holds no secret (those stay in the vault)."""
    return Connection(**{key: getattr(connection, key) for key in _CONNECTION_COLUMNS})
