"""The sync engine: one record at a time, both ways, with no transaction open across a call.

`sync_record` is the one way a record moves. It reads the link (the base of the merge, the open
conflicts, a version) and Gigforge's side in a short transaction; reads the tool's side (or
uses the record a webhook or a poll just brought) with no transaction open; merges the three
(`merge`); writes the tool's side (only the fields that changed, with an idempotency key made
from the link and its version); then, in a second short transaction, checks that neither the
link nor Gigforge's side changed meanwhile (otherwise it starts again from the new state),
writes Gigforge's side, the new base, and any conflicts. Our own write coming back (a webhook
about it) then merges to nothing: that is the echo suppression.

A record deleted on one side becomes a tombstone: the link stays, marked, and the engine never
recreates the record or syncs it again.

`poll` reads a scope's changes from the tool since its cursor (less a lookback window, so a
change stamped late is not missed) and saves the cursor after each page, so a sync killed
midway resumes from the last page it finished.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.integrations.framework.records import ChangePage, RecordKind, RemoteRecord
from gigforge.kit.clock import utcnow
from gigforge.kit.db import Database, unit_of_work
from gigforge.sync.merge import Owner, merge
from gigforge.sync.models import LinkState, SyncConflict, SyncCursor, SyncLink

MAX_ATTEMPTS = 5
LOOKBACK = timedelta(minutes=5)


class LocalSide(Protocol):
    """Gigforge's side of one kind of record (a job as a project, a job task as a task)."""

    kind: RecordKind
    rules: Mapping[str, Owner]

    async def read(self, session: AsyncSession, local_id: str) -> dict[str, Any] | None:
        """The record's synced fields, or None when it is gone."""

    async def write(self, session: AsyncSession, local_id: str, fields: Mapping[str, Any]) -> None:
        """Apply the tool's changes to the record (in the caller's unit of work)."""

    def create_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """What a new record in the tool is made with (parents, containers added)."""


class RemoteSide(Protocol):
    """The tool's side: a CRM or project-tool connector, seen through its common methods."""

    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None: ...

    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        idempotency_key: str,
    ) -> RemoteRecord: ...


RemoteFactory = Callable[[], Awaitable[RemoteSide]]


@dataclass(frozen=True)
class Outcome:
    state: LinkState
    pushed: tuple[str, ...] = ()
    pulled: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    attempts: int = 1


class StaleRead(Exception):
    """The link or Gigforge's side changed while the tool was being called: merge again.
    `pushed` is what this attempt already wrote to the tool (at `version`), so the next
    attempt counts it as agreed rather than as the tool's own change."""

    def __init__(self, version: int, pushed: Mapping[str, Any] | None = None) -> None:
        super().__init__("stale")
        self.version = version
        self.pushed = dict(pushed or {})


@dataclass(frozen=True)
class _Read:
    link_id: uuid.UUID
    version: int
    remote_id: str | None
    state: LinkState
    base: dict[str, Any]
    open_conflicts: frozenset[str]
    local: dict[str, Any] | None


class SyncEngine:
    def __init__(self, database: Database, *, user_id: uuid.UUID, connection_id: uuid.UUID) -> None:
        self.database = database
        self.user_id = user_id
        self.connection_id = connection_id

    async def sync_record(
        self,
        local: LocalSide,
        local_id: str,
        remote: RemoteSide,
        *,
        incoming: RemoteRecord | None = None,
    ) -> Outcome:
        """Bring one record to agreement (or to a shown conflict); safe to run twice."""
        assumed: tuple[int, dict[str, Any]] | None = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                outcome = await self._attempt(local, local_id, remote, incoming, assumed)
            except StaleRead as stale:
                incoming = None  # read the tool again too
                assumed = (stale.version, stale.pushed) if stale.pushed else None
                continue
            return Outcome(
                outcome.state, outcome.pushed, outcome.pulled, outcome.conflicts, attempt
            )
        raise RuntimeError(f"{local.kind} {local_id} kept changing during {MAX_ATTEMPTS} syncs")

    async def _attempt(
        self,
        local: LocalSide,
        local_id: str,
        remote: RemoteSide,
        incoming: RemoteRecord | None,
        assumed: tuple[int, dict[str, Any]] | None = None,
    ) -> Outcome:
        read = await self._read(local, local_id)
        if assumed is not None and assumed[0] == read.version:
            # The last attempt's push reached the tool but not the link: it is agreed.
            read = replace(read, base={**read.base, **assumed[1]})
        if read.state is LinkState.tombstone:
            return Outcome(LinkState.tombstone)
        if read.local is None:
            return await self._tombstone(read, "local")
        if read.remote_id is None:
            created = await remote.upsert(
                local.kind,
                local.create_fields(read.local),
                external_id=None,
                idempotency_key=f"{self.connection_id}:{local.kind}:{local_id}",
            )
            await self._record(local, local_id, read, created, pulled={}, base=read.local)
            return Outcome(LinkState.synced, pushed=tuple(read.local))
        current = incoming if incoming is not None else await remote.get(local.kind, read.remote_id)
        if current is None or current.deleted:
            return await self._tombstone(read, "remote")
        result = merge(
            local.rules,
            base=read.base,
            local=read.local,
            remote=current.fields,
            open_conflicts=read.open_conflicts,
        )
        if result.push:
            current = await remote.upsert(
                local.kind,
                result.push,
                external_id=read.remote_id,
                idempotency_key=f"{read.link_id}:{read.version + 1}",
            )
        local_after = {**read.local, **result.pull}
        agreed = {
            name
            for name in read.open_conflicts
            if name in local_after and local_after.get(name) == current.fields.get(name)
        }
        new = [(c.field, c.base, c.local, c.remote) for c in result.conflicts]
        open_after = (read.open_conflicts - agreed) | {name for name, *_ in new}
        await self._record(
            local,
            local_id,
            read,
            current,
            pushed=result.push,
            pulled=result.pull,
            base=result.base,
            conflicts=new,
            agreed=agreed,
            open_after=open_after,
        )
        return Outcome(
            LinkState.conflict if open_after else LinkState.synced,
            pushed=tuple(result.push),
            pulled=tuple(result.pull),
            conflicts=tuple(name for name, *_ in new),
        )

    async def _read(self, local: LocalSide, local_id: str) -> _Read:
        async with unit_of_work(self.database) as session:
            link = await self._link(session, local.kind, local_id, create=True)
            assert link is not None
            return _Read(
                link_id=link.id,
                version=link.version,
                remote_id=link.remote_id,
                state=link.state,
                base=dict(link.base or {}),
                open_conflicts=frozenset(link.open_conflicts or ()),
                local=await local.read(session, local_id),
            )

    async def _record(
        self,
        local: LocalSide,
        local_id: str,
        read: _Read,
        current: RemoteRecord,
        *,
        pushed: Mapping[str, Any] | None = None,
        pulled: Mapping[str, Any],
        base: Mapping[str, Any],
        conflicts: Sequence[tuple[str, Any, Any, Any]] = (),
        agreed: set[str] | frozenset[str] = frozenset(),
        open_after: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """Write Gigforge's side and the link, fenced on what was read."""
        async with unit_of_work(self.database) as session:
            link = await session.get(
                SyncLink, read.link_id, with_for_update=True, populate_existing=True
            )
            if link is None or link.version != read.version:
                raise StaleRead(read.version)
            now_local = await local.read(session, local_id)
            if now_local != read.local:
                raise StaleRead(read.version, pushed)
            if pulled:
                await local.write(session, local_id, pulled)
            for name in agreed:
                await self._close_conflicts(session, link.id, name, "agreed")
            for name, was, mine, theirs in conflicts:
                session.add(
                    SyncConflict(
                        link_id=link.id,
                        user_id=self.user_id,
                        field=name,
                        base_value=was,
                        local_value=mine,
                        remote_value=theirs,
                    )
                )
            link.remote_id = current.id
            link.remote_url = current.url
            link.base = dict(base)
            link.open_conflicts = sorted(open_after)
            link.state = LinkState.conflict if open_after else LinkState.synced
            link.last_error = None
            link.remote_updated_at = current.updated_at
            link.synced_at = utcnow()
            link.version = read.version + 1

    async def _tombstone(self, read: _Read, side: str) -> Outcome:
        async with unit_of_work(self.database) as session:
            link = await session.get(
                SyncLink, read.link_id, with_for_update=True, populate_existing=True
            )
            if link is None or link.version != read.version:
                raise StaleRead(read.version)
            link.state = LinkState.tombstone
            link.deleted_by = side
            link.tombstoned_at = utcnow()
            link.version += 1
        return Outcome(LinkState.tombstone)

    async def _close_conflicts(
        self, session: AsyncSession, link_id: uuid.UUID, name: str, resolution: str
    ) -> None:
        rows = await session.execute(
            select(SyncConflict).where(
                SyncConflict.link_id == link_id,
                SyncConflict.field == name,
                SyncConflict.resolved_at.is_(None),
            )
        )
        for conflict in rows.scalars():
            conflict.resolved_at = utcnow()
            conflict.resolution = resolution

    async def _link(
        self, session: AsyncSession, kind: RecordKind, local_id: str, *, create: bool
    ) -> SyncLink | None:
        found = await session.execute(
            select(SyncLink).where(
                SyncLink.connection_id == self.connection_id,
                SyncLink.kind == kind.value,
                SyncLink.local_id == local_id,
            )
        )
        link = found.scalars().first()
        if link is None and create:
            link = SyncLink(
                user_id=self.user_id,
                connection_id=self.connection_id,
                kind=kind.value,
                local_id=local_id,
                state=LinkState.pending,
                base={},
                open_conflicts=[],
            )
            session.add(link)
            await session.flush()
        return link

    async def resolve(self, conflict_id: uuid.UUID, *, keep: str) -> None:
        """The user chose a side for a conflicted field: the other side gets that value at
        the next sync (the base becomes the other side's value, so only the kept side looks
        changed)."""
        if keep not in ("local", "remote"):
            raise ValueError("keep is local or remote")
        async with unit_of_work(self.database) as session:
            conflict = await session.get(SyncConflict, conflict_id)
            if conflict is None or conflict.resolved_at is not None:
                return
            link = await session.get(SyncLink, conflict.link_id, with_for_update=True)
            assert link is not None
            base = dict(link.base or {})
            base[conflict.field] = (
                conflict.remote_value if keep == "local" else conflict.local_value
            )
            link.base = base
            link.open_conflicts = [name for name in link.open_conflicts if name != conflict.field]
            link.state = LinkState.conflict if link.open_conflicts else LinkState.synced
            link.version += 1
            conflict.resolved_at = utcnow()
            conflict.resolution = keep

    # Reading the tool's changes

    async def poll(
        self,
        scope: str,
        local: LocalSide,
        remote: RemoteSide,
        read_page: Callable[[datetime | None, str | None], Awaitable[ChangePage]],
        *,
        lookback: timedelta = LOOKBACK,
        max_pages: int = 50,
    ) -> int:
        """Apply the tool's changes in `scope` since the saved cursor; returns how many
        linked records were synced. Records the engine has no link for are not ours: left."""
        synced = 0
        for _ in range(max_pages):
            async with unit_of_work(self.database) as session:
                cursor = await session.get(SyncCursor, (self.connection_id, scope))
                since = cursor.since - lookback if cursor and cursor.since else None
                token = cursor.cursor if cursor else None
            page = await read_page(since, token)
            newest = None
            for record in page.records:
                local_id = await self._local_id(local.kind, record.id)
                if local_id is not None:
                    await self.sync_record(local, local_id, remote, incoming=record)
                    synced += 1
                newest = max(newest, record.updated_at) if newest else record.updated_at
            async with unit_of_work(self.database) as session:
                cursor = await session.get(SyncCursor, (self.connection_id, scope))
                if cursor is None:
                    cursor = SyncCursor(connection_id=self.connection_id, scope=scope)
                    session.add(cursor)
                if newest is not None and (cursor.since is None or newest > cursor.since):
                    cursor.since = newest
                cursor.cursor = page.cursor if page.has_more else None
            if not page.has_more:
                break
        return synced

    async def _local_id(self, kind: RecordKind, remote_id: str) -> str | None:
        async with unit_of_work(self.database) as session:
            found = await session.execute(
                select(SyncLink.local_id).where(
                    SyncLink.connection_id == self.connection_id,
                    SyncLink.kind == kind.value,
                    SyncLink.remote_id == remote_id,
                )
            )
            return found.scalar_one_or_none()
