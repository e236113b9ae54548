"""The sync engine against the Asana sandbox through the real policy layer: a record is made
in the tool once, changes flow both ways, our own writes coming back change nothing, both
sides changing one field is a conflict shown with both values, deletions are tombstones, and
reading changes resumes from the saved cursor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from factories import register
from gigforge.connections.models import Connection
from gigforge.integrations.asana import SPEC, AsanaConfig, AsanaConnector
from gigforge.integrations.asana.sandbox import (
    SANDBOX_PAT,
    SEED_PROJECT_GID,
    AsanaSandbox,
    create_sandbox,
)
from gigforge.integrations.framework import HeaderCredentials, IntegrationRuntime, static_secret
from gigforge.integrations.framework.records import RecordKind
from gigforge.jobs.models import Job
from gigforge.jobs.service import WonWork, jobs
from gigforge.kit.db import unit_of_work
from gigforge.sync.engine import SyncEngine
from gigforge.sync.merge import Owner
from gigforge.sync.models import LinkState, SyncConflict, SyncCursor, SyncLink


@dataclass
class JobsAsTasks:
    """Gigforge's side for these tests: a job's title and description as a task's."""

    project: str
    kind: RecordKind = RecordKind.task
    rules: Mapping[str, Owner] = field(
        default_factory=lambda: {"title": Owner.both, "description": Owner.both}
    )

    async def read(self, session: AsyncSession, local_id: str) -> dict[str, Any] | None:
        job = await session.get(Job, uuid.UUID(local_id), populate_existing=True)
        if job is None:
            return None
        return {"title": job.title, "description": job.description}

    async def write(self, session: AsyncSession, local_id: str, fields: Mapping[str, Any]) -> None:
        job = await session.get(Job, uuid.UUID(local_id))
        assert job is not None
        if "title" in fields:
            job.title = fields["title"]
        if "description" in fields:
            job.description = fields["description"] or ""

    def create_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {**fields, "project": self.project}


@dataclass
class World:
    app: FastAPI
    sandbox: AsanaSandbox
    asana: AsanaConnector
    engine: SyncEngine
    local: JobsAsTasks
    user_id: uuid.UUID

    async def job(self, title: str, description: str = "") -> str:
        async with unit_of_work(self.app.state.database) as session:
            made = await jobs.create(
                session,
                self.user_id,
                WonWork(
                    platform="upwork", source="marked_won", title=title, description=description
                ),
            )
            return str(made.id)

    async def edit_job(self, job_id: str, **changes: str) -> None:
        async with unit_of_work(self.app.state.database) as session:
            await self.local.write(session, job_id, changes)

    async def link(self, job_id: str) -> SyncLink:
        async with unit_of_work(self.app.state.database) as session:
            found = await session.execute(select(SyncLink).where(SyncLink.local_id == job_id))
            return found.scalar_one()

    async def sync(self, job_id: str) -> Any:
        return await self.engine.sync_record(self.local, job_id, self.asana)


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[World]:
    account = await register(client)
    user_id = uuid.UUID(account.user_id)
    async with unit_of_work(app.state.database) as session:
        connection = Connection(
            user_id=user_id, integration="asana", name="default", auth_mode="bearer_token"
        )
        session.add(connection)
        await session.flush()
        connection_id = connection.id
    sandbox = create_sandbox()
    client_ = IntegrationRuntime().client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        credentials=HeaderCredentials(static_secret(SANDBOX_PAT)),
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client_:
        yield World(
            app=app,
            sandbox=sandbox,
            asana=AsanaConnector(client_, AsanaConfig()),
            engine=SyncEngine(app.state.database, user_id=user_id, connection_id=connection_id),
            local=JobsAsTasks(project=SEED_PROJECT_GID),
            user_id=user_id,
        )


def _task(world: World, gid: str) -> dict[str, Any]:
    return dict(world.sandbox.store.tasks[gid])


async def test_a_record_is_made_once_and_changes_flow_both_ways(world: World) -> None:
    job_id = await world.job("Landing page copy", "Three variants")
    made = await world.sync(job_id)
    assert made.state is LinkState.synced
    link = await world.link(job_id)
    assert link.remote_id is not None
    assert _task(world, link.remote_id)["name"] == "Landing page copy"
    assert link.base == {"title": "Landing page copy", "description": "Three variants"}
    again = await world.sync(job_id)
    assert (again.pushed, again.pulled) == ((), ())  # nothing changed: nothing written
    assert (
        sum(1 for t in world.sandbox.store.tasks.values() if t["name"] == "Landing page copy") == 1
    )

    await world.edit_job(job_id, title="Landing page copy, v2")
    pushed = await world.sync(job_id)
    assert pushed.pushed == ("title",)
    assert _task(world, link.remote_id)["name"] == "Landing page copy, v2"

    await world.sandbox.edit_task(link.remote_id, notes="Three variants and a headline")
    pulled = await world.sync(job_id)
    assert pulled.pulled == ("description",)
    async with unit_of_work(world.app.state.database) as session:
        assert (await world.local.read(session, job_id)) == {
            "title": "Landing page copy, v2",
            "description": "Three variants and a headline",
        }


async def test_our_own_write_coming_back_changes_nothing(world: World) -> None:
    job_id = await world.job("Blog post")
    await world.sync(job_id)
    await world.edit_job(job_id, title="Blog post about pricing")
    await world.sync(job_id)
    link = await world.link(job_id)
    assert link.remote_id is not None
    echoed = await world.asana.get(RecordKind.task, link.remote_id)
    assert echoed is not None
    # The tool's webhook (or the next poll) brings our own write back.
    echo = await world.engine.sync_record(world.local, job_id, world.asana, incoming=echoed)
    assert (echo.pushed, echo.pulled, echo.conflicts) == ((), (), ())
    assert (await world.link(job_id)).version == link.version + 1


async def test_both_sides_changing_a_field_is_a_conflict_until_the_user_chooses(
    world: World,
) -> None:
    job_id = await world.job("Logo", "Two concepts")
    await world.sync(job_id)
    link = await world.link(job_id)
    assert link.remote_id is not None
    await world.edit_job(job_id, title="Logo and icon")
    await world.sandbox.edit_task(link.remote_id, name="Logo (urgent)", notes="Three concepts")
    found = await world.sync(job_id)
    assert found.state is LinkState.conflict
    assert found.conflicts == ("title",)
    assert found.pulled == ("description",)  # the other field still flows
    async with unit_of_work(world.app.state.database) as session:
        [conflict] = (await session.execute(select(SyncConflict))).scalars().all()
        assert (conflict.base_value, conflict.local_value, conflict.remote_value) == (
            "Logo",
            "Logo and icon",
            "Logo (urgent)",
        )
    # Left alone on both sides while open, even through more syncs.
    await world.sync(job_id)
    assert _task(world, link.remote_id)["name"] == "Logo (urgent)"
    await world.engine.resolve(conflict.id, keep="local")
    settled = await world.sync(job_id)
    assert settled.state is LinkState.synced
    assert settled.pushed == ("title",)
    assert _task(world, link.remote_id)["name"] == "Logo and icon"
    async with unit_of_work(world.app.state.database) as session:
        resolved = await session.get(SyncConflict, conflict.id)
        assert resolved is not None
        assert resolved.resolution == "local"


async def test_deletions_are_tombstones_and_never_come_back(world: World) -> None:
    gone_there = await world.job("Deleted in Asana")
    gone_here = await world.job("Deleted in Gigforge")
    for job_id in (gone_there, gone_here):
        await world.sync(job_id)
    there = await world.link(gone_there)
    assert there.remote_id is not None
    await world.sandbox.delete_task(there.remote_id)
    assert (await world.sync(gone_there)).state is LinkState.tombstone
    async with unit_of_work(world.app.state.database) as session:
        job = await session.get(Job, uuid.UUID(gone_here))
        assert job is not None
        await session.delete(job)
    assert (await world.sync(gone_here)).state is LinkState.tombstone
    tasks_before = len(world.sandbox.store.tasks)
    for job_id in (gone_there, gone_here):
        assert (await world.sync(job_id)).state is LinkState.tombstone
    assert len(world.sandbox.store.tasks) == tasks_before  # nothing recreated
    assert (await world.link(gone_there)).deleted_by == "remote"
    assert (await world.link(gone_here)).deleted_by == "local"


async def test_polling_applies_the_tools_changes_and_keeps_its_cursor(world: World) -> None:
    world.asana.page_size = 2
    ids = [await world.job(f"Task {n}") for n in range(5)]
    for job_id in ids:
        await world.sync(job_id)
    links = [await world.link(job_id) for job_id in ids]
    for number, link in enumerate(links):
        assert link.remote_id is not None
        await world.sandbox.edit_task(link.remote_id, notes=f"Edited in Asana {number}")

    async def page(since: Any, cursor: str | None) -> Any:
        return await world.asana.changes(SEED_PROJECT_GID, since=since, cursor=cursor)

    synced = await world.engine.poll(f"asana:{SEED_PROJECT_GID}", world.local, world.asana, page)
    assert synced >= 5
    async with unit_of_work(world.app.state.database) as session:
        for number, job_id in enumerate(ids):
            fields = await world.local.read(session, job_id)
            assert fields is not None
            assert fields["description"] == f"Edited in Asana {number}"
        cursor = await session.get(
            SyncCursor, (world.engine.connection_id, f"asana:{SEED_PROJECT_GID}")
        )
        assert cursor is not None
        assert cursor.since is not None
        assert cursor.cursor is None  # read to the end
        links_count = await session.scalar(select(func.count()).select_from(SyncLink))
    assert links_count == 5
    quiet = await world.engine.poll(f"asana:{SEED_PROJECT_GID}", world.local, world.asana, page)
    assert quiet >= 0
