"""The connector's contract, driven against the Trello sandbox through the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from trello_support import Clock, ConnectorFactory, PassingSleep

from gigforge.integrations.framework import (
    AuthExpired,
    Capability,
    NotSupported,
    Permanent,
    ProjectTool,
    RateLimited,
    Registry,
)
from gigforge.integrations.framework.records import RecordKind
from gigforge.integrations.trello import SPEC, TrelloConnector
from gigforge.integrations.trello.mapping import MEMBER_BOARDS
from gigforge.integrations.trello.sandbox import TrelloSandbox


def lists_by_name(sandbox: TrelloSandbox, board_id: str) -> dict[str, str]:
    return {
        item["name"]: item["id"] for item in sandbox.lists.values() if item["idBoard"] == board_id
    }


async def new_board(connector: TrelloConnector, key: str = "job-1") -> str:
    record = await connector.upsert(
        RecordKind.project,
        {"name": "Booking backend", "description": "FastAPI work for Acme"},
        external_id=None,
        container=MEMBER_BOARDS,
        idempotency_key=key,
    )
    return record.id


def test_the_connector_is_a_project_tool_the_registry_offers() -> None:
    registry = Registry([TrelloConnector])

    assert issubclass(TrelloConnector, ProjectTool)
    assert registry.get("trello") is TrelloConnector
    assert [spec.slug for spec in registry.with_capability(Capability.project_tool)] == ["trello"]


async def test_test_call_returns_the_member_and_sends_key_and_token_as_query(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    assert await connector.test() == {"member_id": sandbox.member["id"], "username": "gigforge_dev"}
    _, path, query = sandbox.received[-1]
    assert path == "/1/members/me"
    assert query["key"] == sandbox.api_key
    assert query["token"] in sandbox.tokens


async def test_containers_are_your_boards_then_the_workspaces(connector: TrelloConnector) -> None:
    containers = await connector.containers()

    assert next((c.id, c.name) for c in containers) == (MEMBER_BOARDS, "Your boards")
    assert [c.name for c in containers[1:]] == ["Gigforge Studio"]


async def test_creating_a_project_makes_a_board_with_the_default_lists(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board = await connector.upsert(
        RecordKind.project,
        {"name": "Booking backend", "description": "FastAPI work"},
        external_id=None,
        container=next(iter(sandbox.organizations)),
        idempotency_key="job-1",
    )

    assert board.fields == {"name": "Booking backend", "description": "FastAPI work"}
    assert board.url is not None
    assert board.url.startswith("https://trello.com/b/")
    stored = sandbox.boards[board.id]
    assert stored["idOrganization"] == next(iter(sandbox.organizations))
    assert stored["desc"].endswith("[gigforge-ref: job-1]")
    statuses = await connector.statuses(board.id)
    assert [(s.name, s.done) for s in statuses] == [
        ("To Do", False),
        ("Doing", False),
        ("Done", True),
    ]


async def test_a_project_create_retried_with_the_same_key_returns_the_first_board(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    before = len(sandbox.boards)
    first = await new_board(connector, "job-7")
    again = await new_board(connector, "job-7")

    assert again == first
    assert len(sandbox.boards) == before + 1


async def test_updating_a_project_keeps_the_reference(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)

    updated = await connector.upsert(
        RecordKind.project,
        {"name": "Booking backend v2", "description": "Scope grew"},
        external_id=board_id,
        idempotency_key="job-1-update",
    )

    assert updated.fields == {"name": "Booking backend v2", "description": "Scope grew"}
    assert sandbox.boards[board_id]["desc"] == "Scope grew\n\n[gigforge-ref: job-1]"


async def test_task_lifecycle_create_get_update_delete(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)
    lists = lists_by_name(sandbox, board_id)

    created = await connector.upsert(
        RecordKind.task,
        {
            "title": "Write the API",
            "description": "Endpoints first",
            "due": "2026-03-05",
            "project": board_id,
        },
        external_id=None,
        idempotency_key="task-1",
    )
    assert created.fields == {
        "title": "Write the API",
        "description": "Endpoints first",
        "status": lists["To Do"],
        "due": "2026-03-05",
        "project": board_id,
    }
    assert sandbox.cards[created.id]["due"] == "2026-03-05T12:00:00.000Z"

    moved = await connector.upsert(
        RecordKind.task,
        {"status": lists["Done"], "description": "All endpoints done", "due": None},
        external_id=created.id,
        idempotency_key="task-1-done",
    )
    assert moved.fields["status"] == lists["Done"]
    assert "due" not in moved.fields
    assert moved.fields["description"] == "All endpoints done"
    assert sandbox.cards[created.id]["desc"].endswith("[gigforge-ref: task-1]")

    fetched = await connector.get(RecordKind.task, created.id)
    assert fetched is not None
    assert fetched.fields == moved.fields

    await connector.delete(RecordKind.task, created.id)
    assert await connector.get(RecordKind.task, created.id) is None
    await connector.delete(RecordKind.task, created.id)  # already gone: still fine


async def test_a_task_create_retried_with_the_same_key_returns_the_first_card(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)
    fields = {"title": "Write the API", "project": board_id}

    first = await connector.upsert(RecordKind.task, fields, external_id=None, idempotency_key="t-9")
    again = await connector.upsert(RecordKind.task, fields, external_id=None, idempotency_key="t-9")
    other = await connector.upsert(
        RecordKind.task, fields, external_id=None, idempotency_key="t-10"
    )

    assert again.id == first.id
    assert other.id != first.id
    assert [c["id"] for c in sandbox.cards.values() if c["idBoard"] == board_id] == [
        first.id,
        other.id,
    ]


async def test_a_key_with_unusual_characters_is_kept_as_its_digest(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)
    key = "job 1/task ✓"
    fields = {"title": "Odd key", "project": board_id}

    first = await connector.upsert(RecordKind.task, fields, external_id=None, idempotency_key=key)
    again = await connector.upsert(RecordKind.task, fields, external_id=None, idempotency_key=key)

    assert again.id == first.id
    assert "[gigforge-ref: sha256." in sandbox.cards[first.id]["desc"]


async def test_a_task_needs_its_board(connector: TrelloConnector) -> None:
    with pytest.raises(Permanent, match="needs the board"):
        await connector.upsert(
            RecordKind.task, {"title": "Lost"}, external_id=None, idempotency_key="t-1"
        )


async def test_other_record_kinds_are_not_supported(connector: TrelloConnector) -> None:
    with pytest.raises(NotSupported):
        await connector.get(RecordKind.deal, "0123456789abcdef01234567")


async def test_get_of_a_missing_card_or_board_is_none(connector: TrelloConnector) -> None:
    assert await connector.get(RecordKind.task, "0123456789abcdef01234567") is None
    assert await connector.get(RecordKind.project, "0123456789abcdef01234567") is None


async def test_deleting_a_project_deletes_the_board(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)

    await connector.delete(RecordKind.project, board_id)

    assert board_id not in sandbox.boards
    assert await connector.get(RecordKind.project, board_id) is None


async def test_changes_are_the_cards_touched_since_oldest_first_with_deletions(
    connector: TrelloConnector, sandbox: TrelloSandbox, clock: Clock
) -> None:
    board_id = await new_board(connector)
    lists = lists_by_name(sandbox, board_id)
    old = await sandbox.person_adds_card(lists["To Do"], "Old card")
    clock.advance(60)
    since = datetime.fromtimestamp(clock.now, UTC)
    kept = await sandbox.person_adds_card(lists["To Do"], "Kept")
    clock.advance(1)
    gone = await sandbox.person_adds_card(lists["To Do"], "Gone")
    clock.advance(1)
    await sandbox.person_moves_card(old["id"], lists["Doing"])
    clock.advance(1)
    await sandbox.person_deletes_card(gone["id"])
    clock.advance(1)
    await sandbox.person_archives_card(kept["id"])

    page = await connector.changes(board_id, since=since)

    assert [(r.id, r.deleted) for r in page.records] == [
        (old["id"], False),
        (gone["id"], True),
        (kept["id"], True),
    ]
    assert page.records[0].fields["status"] == lists["Doing"]
    assert page.records[1].fields == {"project": board_id}
    assert not page.has_more
    assert all(r.updated_at >= since for r in page.records)


async def test_changes_page_with_a_cursor_that_resumes_after_the_last_record(
    make_connector: ConnectorFactory, sandbox: TrelloSandbox, clock: Clock
) -> None:
    class SmallPages(TrelloConnector):
        page_size = 2

    connector = make_connector()
    small = SmallPages(connector.client, connector.config)
    board_id = await new_board(connector)
    to_do = lists_by_name(sandbox, board_id)["To Do"]
    added = []
    for number in range(5):
        clock.advance(1)
        added.append((await sandbox.person_adds_card(to_do, f"Card {number}"))["id"])

    seen: list[str] = []
    cursor = None
    while True:
        page = await small.changes(board_id, since=None, cursor=cursor)
        seen.extend(record.id for record in page.records)
        cursor = page.cursor
        if not page.has_more:
            break

    assert seen == added
    empty = await small.changes(board_id, since=None, cursor=cursor)
    assert empty.records == []
    assert empty.cursor == cursor


async def test_deletions_are_read_across_pages_of_actions(
    make_connector: ConnectorFactory, sandbox: TrelloSandbox, clock: Clock
) -> None:
    class SmallActionPages(TrelloConnector):
        actions_page_size = 2

    connector = make_connector()
    small = SmallActionPages(connector.client, connector.config)
    board_id = await new_board(connector)
    to_do = lists_by_name(sandbox, board_id)["To Do"]
    cards = [await sandbox.person_adds_card(to_do, f"Card {n}") for n in range(5)]
    for card in cards:
        clock.advance(1)
        await sandbox.person_deletes_card(card["id"])

    page = await small.changes(board_id, since=None)

    assert [r.id for r in page.records] == [card["id"] for card in cards]
    assert all(r.deleted for r in page.records)
    pages = [q for m, p, q in sandbox.received if p.endswith("/actions")]
    assert len(pages) == 3
    assert "before" in pages[1]


async def test_a_cursor_from_elsewhere_is_refused(connector: TrelloConnector) -> None:
    board_id = await new_board(connector)
    with pytest.raises(Permanent, match="cursor"):
        await connector.changes(board_id, since=None, cursor="page-2")


async def test_done_lists_are_configurable(
    make_connector: ConnectorFactory, sandbox: TrelloSandbox
) -> None:
    connector = make_connector(done_lists=("doing", "Shipped"))

    statuses = await connector.statuses(sandbox.seeded_board)

    assert {s.name: s.done for s in statuses} == {"To Do": False, "Doing": True, "Done": False}


async def test_an_unknown_token_is_auth_expired_with_trellos_message(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(token="ATTAnot-a-real-token")

    with pytest.raises(AuthExpired) as raised:
        await connector.test()

    assert raised.value.detail == "Trello: invalid token"
    assert raised.value.upstream_status == 401
    assert "ATTAnot-a-real-token" not in str(raised.value.detail)


async def test_an_invalid_id_is_permanent_with_trellos_message(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)
    with pytest.raises(Permanent) as raised:
        await connector.upsert(
            RecordKind.task,
            {"title": "Nowhere", "project": board_id, "status": "abc"},
            external_id=None,
            idempotency_key="t-1",
        )
    assert raised.value.detail == "Trello: invalid value for idList"
    assert raised.value.upstream_status == 400


async def test_a_missing_board_is_a_404_with_trellos_message(connector: TrelloConnector) -> None:
    with pytest.raises(Permanent) as raised:
        await connector.statuses("0123456789abcdef01234567")
    assert raised.value.upstream_status == 404
    assert raised.value.detail == "Trello: The requested resource was not found."


async def test_an_id_that_is_not_one_is_refused_before_any_call(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    sent = len(sandbox.received)
    with pytest.raises(Permanent, match="not a Trello id"):
        await connector.get(RecordKind.task, "../members/me")
    assert len(sandbox.received) == sent


async def test_the_token_limit_answers_429_and_the_call_is_retried(
    connector: TrelloConnector, sandbox: TrelloSandbox, sleep: PassingSleep
) -> None:
    sandbox.token_limit = 2
    await connector.test()
    await connector.test()

    assert await connector.test() == {"member_id": sandbox.member["id"], "username": "gigforge_dev"}
    assert len(sleep.delays) == 1
    paths = [path for _, path, _ in sandbox.received]
    assert paths.count("/1/members/me") == 4


async def test_a_429_that_lasts_is_rate_limited_with_trellos_code(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    sandbox.faults.burst_429 = 10

    with pytest.raises(RateLimited) as raised:
        await connector.containers()

    assert "API_TOKEN_LIMIT_EXCEEDED" in raised.value.detail


async def test_a_post_refused_with_429_is_replayed_without_a_second_card(
    connector: TrelloConnector, sandbox: TrelloSandbox
) -> None:
    board_id = await new_board(connector)
    sandbox.faults.burst_429 = 1

    card = await connector.upsert(
        RecordKind.task,
        {"title": "Once", "project": board_id},
        external_id=None,
        idempotency_key="k",
    )

    assert [c["id"] for c in sandbox.cards.values() if c["idBoard"] == board_id] == [card.id]


def test_the_spec_budgets_the_token_limit_and_hides_secrets() -> None:
    schema = SPEC.config_schema()

    assert SPEC.rate_limits == ("100/10 seconds",)
    assert SPEC.credential_query_param == "token"
    assert schema["properties"]["token"]["writeOnly"] is True
    assert schema["properties"]["app_secret"]["writeOnly"] is True
    assert "writeOnly" not in schema["properties"]["api_key"]


async def test_updated_times_come_from_trello(
    connector: TrelloConnector, sandbox: TrelloSandbox, clock: Clock
) -> None:
    board_id = await new_board(connector)
    card = await connector.upsert(
        RecordKind.task,
        {"title": "Timed", "project": board_id},
        external_id=None,
        idempotency_key="t",
    )
    clock.advance(3600)
    moved = await connector.upsert(
        RecordKind.task, {"title": "Timed, renamed"}, external_id=card.id, idempotency_key="t2"
    )
    assert moved.updated_at - card.updated_at == timedelta(hours=1)
