"""The Asana connector against the sandbox, through the real policy layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asana_support import Clock, ConnectorFactory, pat_credentials

from gigforge.integrations.asana import AsanaConfig, AsanaConnector
from gigforge.integrations.asana._sandbox_store import (
    ORGANIZATION_GID,
    PERSONAL_WORKSPACE_GID,
    TEAM_GID,
)
from gigforge.integrations.asana.errors import AsanaAPIError
from gigforge.integrations.asana.sandbox import SEED_PROJECT_GID, AsanaSandbox
from gigforge.integrations.framework import AuthExpired, NotSupported, RateLimited
from gigforge.integrations.framework.records import RecordKind
from sandbox_support import RecordedSleep, SandboxTokens


async def _statuses(connector: AsanaConnector) -> dict[str, str]:
    return {s.name: s.id for s in await connector.statuses(SEED_PROJECT_GID)}


async def test_test_call_names_the_user_and_workspaces(connector: AsanaConnector) -> None:
    learned = await connector.test()
    assert learned["name"] == "Sandbox Freelancer"
    assert learned["workspaces"] == ["Personal Projects", "Example Studio"]


async def test_containers_are_the_workspaces(connector: AsanaConnector) -> None:
    containers = await connector.containers()
    assert [(c.id, c.name) for c in containers] == [
        (PERSONAL_WORKSPACE_GID, "Personal Projects"),
        (ORGANIZATION_GID, "Example Studio"),
    ]


async def test_statuses_are_sections_then_completed(connector: AsanaConnector) -> None:
    statuses = await connector.statuses(SEED_PROJECT_GID)
    assert [s.name for s in statuses] == ["To do", "In progress", "Review", "Completed"]
    assert [s.done for s in statuses] == [False, False, False, True]
    assert statuses[-1].id == "completed"


async def test_create_project_in_a_workspace(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    record = await connector.upsert(
        RecordKind.project,
        {"name": "Logo for ACME", "description": "Job from Upwork"},
        external_id=None,
        container=PERSONAL_WORKSPACE_GID,
        idempotency_key="job-0001-project",
    )
    assert record.fields == {"name": "Logo for ACME", "description": "Job from Upwork"}
    assert sandbox.store.projects[record.id]["workspace"] == PERSONAL_WORKSPACE_GID
    assert record.url is not None


async def test_project_create_retried_returns_the_first(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    fields = {"name": "Logo for ACME", "description": "Job 7"}
    first = await connector.upsert(
        RecordKind.project,
        fields,
        external_id=None,
        container=PERSONAL_WORKSPACE_GID,
        idempotency_key="job-0007-project",
    )
    again = await connector.upsert(
        RecordKind.project,
        fields,
        external_id=None,
        container=PERSONAL_WORKSPACE_GID,
        idempotency_key="job-0007-project",
    )
    assert again.id == first.id
    assert sum(p["name"] == "Logo for ACME" for p in sandbox.store.projects.values()) == 1


async def test_project_in_an_organization_needs_a_team(
    connector: AsanaConnector, make_connector: ConnectorFactory, sandbox: AsanaSandbox
) -> None:
    with pytest.raises(AsanaAPIError) as refused:
        await connector.upsert(
            RecordKind.project,
            {"name": "Org job"},
            external_id=None,
            container=ORGANIZATION_GID,
            idempotency_key="job-0002-project",
        )
    assert refused.value.upstream_status == 400
    assert "specify a team" in refused.value.detail
    with_team = make_connector(pat_credentials(), AsanaConfig(team_gid=TEAM_GID))
    record = await with_team.upsert(
        RecordKind.project,
        {"name": "Org job"},
        external_id=None,
        container=ORGANIZATION_GID,
        idempotency_key="job-0002-project",
    )
    assert sandbox.store.projects[record.id]["team"] == TEAM_GID


async def test_update_project_changes_only_given_fields(connector: AsanaConnector) -> None:
    record = await connector.upsert(
        RecordKind.project,
        {"name": "Before", "description": "keep me"},
        external_id=None,
        container=PERSONAL_WORKSPACE_GID,
        idempotency_key="job-0003-project",
    )
    updated = await connector.upsert(
        RecordKind.project, {"name": "After"}, external_id=record.id, idempotency_key="k-upd-1"
    )
    assert updated.fields == {"name": "After", "description": "keep me"}


async def test_create_task_in_a_section(connector: AsanaConnector, sandbox: AsanaSandbox) -> None:
    sections = await _statuses(connector)
    record = await connector.upsert(
        RecordKind.task,
        {
            "title": "Draft logo",
            "description": "Three options",
            "status": sections["In progress"],
            "due": "2026-02-01",
            "project": SEED_PROJECT_GID,
        },
        external_id=None,
        idempotency_key="task-key-0001",
    )
    assert record.fields == {
        "title": "Draft logo",
        "description": "Three options",
        "status": sections["In progress"],
        "due": "2026-02-01",
        "project": SEED_PROJECT_GID,
    }
    assert sandbox.store.tasks[record.id]["external"] == {"gid": "task-key-0001"}


async def test_task_create_retried_with_same_key_makes_one_task(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    fields = {"title": "Write copy", "project": SEED_PROJECT_GID, "status": "completed"}
    first = await connector.upsert(
        RecordKind.task, fields, external_id=None, idempotency_key="task-key-0002"
    )
    again = await connector.upsert(
        RecordKind.task, fields, external_id=None, idempotency_key="task-key-0002"
    )
    assert again.id == first.id
    assert again.fields["status"] == "completed"
    assert [t["name"] for t in sandbox.store.tasks.values()] == ["Write copy"]
    posts = [call for call in sandbox.calls if call == ("POST", "/api/1.0/tasks")]
    assert len(posts) == 1


async def test_update_task_moves_sections_and_completes(connector: AsanaConnector) -> None:
    sections = await _statuses(connector)
    task = await connector.upsert(
        RecordKind.task,
        {"title": "Review", "project": SEED_PROJECT_GID},
        external_id=None,
        idempotency_key="task-key-0003",
    )
    assert task.fields["status"] == sections["To do"]
    moved = await connector.upsert(
        RecordKind.task,
        {"status": sections["Review"], "due": None},
        external_id=task.id,
        idempotency_key="task-key-0003-u1",
    )
    assert moved.fields["status"] == sections["Review"]
    done = await connector.upsert(
        RecordKind.task, {"status": "completed"}, external_id=task.id, idempotency_key="k-u2"
    )
    assert done.fields["status"] == "completed"
    reopened = await connector.upsert(
        RecordKind.task,
        {"status": sections["In progress"], "title": "Review again"},
        external_id=task.id,
        idempotency_key="k-u3",
    )
    assert reopened.fields["status"] == sections["In progress"]
    assert reopened.fields["title"] == "Review again"


async def test_get_and_delete(connector: AsanaConnector) -> None:
    task = await connector.upsert(
        RecordKind.task,
        {"title": "Short-lived", "project": SEED_PROJECT_GID},
        external_id=None,
        idempotency_key="task-key-0004",
    )
    fetched = await connector.get(RecordKind.task, task.id)
    assert fetched is not None
    assert fetched.fields["title"] == "Short-lived"
    project = await connector.get(RecordKind.project, SEED_PROJECT_GID)
    assert project is not None
    assert project.fields["name"] == "Website redesign"
    await connector.delete(RecordKind.task, task.id)
    assert await connector.get(RecordKind.task, task.id) is None
    await connector.delete(RecordKind.task, task.id)  # already gone: nothing to do


async def test_unknown_task_is_none_and_other_kinds_not_supported(
    connector: AsanaConnector,
) -> None:
    assert await connector.get(RecordKind.task, "1299999999999999") is None
    with pytest.raises(NotSupported):
        await connector.get(RecordKind.contact, "1")


async def test_bad_request_carries_asanas_message(connector: AsanaConnector) -> None:
    with pytest.raises(AsanaAPIError) as refused:
        await connector.upsert(
            RecordKind.task,
            {"title": "Lost", "project": "1299999999999999"},
            external_id=None,
            idempotency_key="task-key-0005",
        )
    assert refused.value.upstream_status == 404
    assert refused.value.detail == "Asana: Unknown object: 1299999999999999"


async def test_changes_pages_and_filters_by_time(
    connector: AsanaConnector, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AsanaConnector, "page_size", 2)
    for number in range(5):
        clock.now += 60
        await connector.upsert(
            RecordKind.task,
            {"title": f"Task {number}", "project": SEED_PROJECT_GID},
            external_id=None,
            idempotency_key=f"task-key-1{number:03}",
        )
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await connector.changes(SEED_PROJECT_GID, since=None, cursor=cursor)
        pages += 1
        seen += [r.fields["title"] for r in page.records]
        assert [r.updated_at for r in page.records] == sorted(r.updated_at for r in page.records)
        if not page.has_more:
            break
        cursor = page.cursor
    assert pages == 3
    assert seen == [f"Task {n}" for n in range(5)]
    since = datetime.fromtimestamp(clock.now, UTC) - timedelta(seconds=61)
    recent = await connector.changes(SEED_PROJECT_GID, since=since)
    assert [r.fields["title"] for r in recent.records] == ["Task 3", "Task 4"]
    assert not recent.has_more


async def test_changes_read_edits_made_in_asana(
    connector: AsanaConnector, sandbox: AsanaSandbox, clock: Clock
) -> None:
    task_gid = await sandbox.create_task(SEED_PROJECT_GID, "Made by a person")
    clock.now += 3600
    since = datetime.fromtimestamp(clock.now, UTC)
    await sandbox.edit_task(task_gid, completed=True)
    page = await connector.changes(SEED_PROJECT_GID, since=since)
    assert [(r.id, r.fields["status"]) for r in page.records] == [(task_gid, "completed")]


async def test_unknown_token_is_auth_expired(make_connector: ConnectorFactory) -> None:
    connector = make_connector(pat_credentials("2/0/0:not-a-token"))
    with pytest.raises(AuthExpired) as refused:
        await connector.containers()
    assert refused.value.detail == "Asana: Not Authorized"


async def test_429_is_retried_after_retry_after(
    connector: AsanaConnector, sandbox: AsanaSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 7
    assert len(await connector.containers()) == 2
    assert sleep.delays == [7.0, 7.0]


async def test_spent_window_answers_429_with_retry_after(
    make_connector: ConnectorFactory, sandbox: AsanaSandbox, sleep: RecordedSleep
) -> None:
    sandbox.window_limit = 1
    connector = make_connector(pat_credentials())
    await connector.containers()
    with pytest.raises(RateLimited) as limited:
        await connector.containers()  # the window never resets: the sandbox clock stands still
    assert limited.value.retry_after == 60
    assert sleep.delays
    assert all(delay == 60.0 for delay in sleep.delays)


async def test_oauth_token_refreshed_on_401(
    oauth_connector: AsanaConnector, sandbox: AsanaSandbox, tokens: SandboxTokens
) -> None:
    assert len(await oauth_connector.containers()) == 2
    sandbox.oauth.expire_access_tokens()
    assert len(await oauth_connector.containers()) == 2
    assert tokens.refreshes == 1
