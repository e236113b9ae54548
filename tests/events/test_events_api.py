"""GET /api/v1/events and /api/v1/events/types: the catalog, and a user's own stream."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from factories import Account, register
from gigforge.events.catalog import domains_with_events, import_event_types
from gigforge.kit.db import Database, unit_of_work
from gigforge.kit.outbox import CATALOG, EventPayload, event_type, publish


@event_type(
    "eventsapi.note_added",
    summary="A note was added (test type)",
    example={"note_id": "n-1", "text": "hello"},
)
class NoteAdded(EventPayload):
    note_id: str
    text: str


@event_type(
    "eventsapi.note_removed",
    summary="A note was removed (test type)",
    example={"note_id": "n-1"},
)
class NoteRemoved(EventPayload):
    note_id: str


@event_type("eventsapp.started", summary="Another family (test type)", example={"n": 1})
class Started(EventPayload):
    n: int


async def _publish(app: FastAPI, *events: tuple[EventPayload, str | None]) -> list[str]:
    database: Database = app.state.database
    ids = []
    async with unit_of_work(database) as session:
        for payload, user_id in events:
            row = await publish(session, payload, user_id=uuid.UUID(user_id) if user_id else None)
            ids.append(str(row.id))
    return ids


async def _two_users(client: httpx.AsyncClient) -> tuple[Account, Account]:
    admin = await register(client)  # the first account is the admin
    member = await register(client)
    return admin, member


async def test_event_types_lists_every_declared_type_with_schema_and_example(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    response = await client.get("/api/v1/events/types", headers=admin.headers)
    assert response.status_code == 200, response.text
    types = {item["name"]: item for item in response.json()["types"]}
    assert set(types) == set(CATALOG)
    note = types["eventsapi.note_added"]
    assert note["summary"] == "A note was added (test type)"
    assert note["example"] == {"note_id": "n-1", "text": "hello"}
    assert note["schema"]["properties"]["text"]["type"] == "string"
    assert note["schema"]["required"] == ["note_id", "text"]


def test_import_event_types_imports_each_domains_events_module_and_skips_kit() -> None:
    modules = domains_with_events()
    assert "gigforge.kit.events" not in modules
    assert all(name.startswith("gigforge.") and name.endswith(".events") for name in modules)
    catalog = import_event_types()
    assert list(catalog) == sorted(catalog)
    assert catalog["eventsapi.note_added"] is NoteAdded


async def test_events_are_the_callers_own_oldest_first_with_their_data(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, member = await _two_users(client)
    first, _, third, _ = await _publish(
        app,
        (NoteAdded(note_id="a", text="one"), member.user_id),
        (NoteAdded(note_id="b", text="not yours"), admin.user_id),
        (NoteRemoved(note_id="a"), member.user_id),
        (Started(n=1), None),
    )
    response = await client.get("/api/v1/events", headers=member.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [event["id"] for event in body["events"]] == [first, third]
    assert body["events"][0]["type"] == "eventsapi.note_added"
    assert body["events"][0]["data"] == {"note_id": "a", "text": "one"}
    assert datetime.fromisoformat(body["events"][0]["occurred_at"])
    assert body["next_cursor"] == third
    assert body["has_more"] is False


async def test_cursor_paging_walks_every_event_once_and_resumes_after_the_last(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    ids = await _publish(
        app, *[(NoteAdded(note_id=str(n), text="x"), admin.user_id) for n in range(5)]
    )
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params = {"limit": "2", **({"after": after} if after else {})}
        body = (await client.get("/api/v1/events", params=params, headers=admin.headers)).json()
        seen += [event["id"] for event in body["events"]]
        after = body["next_cursor"]
        pages += 1
        if not body["has_more"]:
            break
    assert seen == ids
    assert pages == 3
    [later] = await _publish(app, (NoteRemoved(note_id="0"), admin.user_id))
    body = (
        await client.get("/api/v1/events", params={"after": after}, headers=admin.headers)
    ).json()
    assert [event["id"] for event in body["events"]] == [later]
    empty = (
        await client.get("/api/v1/events", params={"after": later}, headers=admin.headers)
    ).json()
    assert empty == {"events": [], "next_cursor": later, "has_more": False}


async def test_type_filter_takes_exact_names_and_family_wildcards(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    added, removed, started = await _publish(
        app,
        (NoteAdded(note_id="a", text="x"), admin.user_id),
        (NoteRemoved(note_id="a"), admin.user_id),
        (Started(n=1), admin.user_id),
    )

    async def ids(*types: str) -> list[str]:
        response = await client.get(
            "/api/v1/events", params=[("type", t) for t in types], headers=admin.headers
        )
        assert response.status_code == 200, response.text
        return [event["id"] for event in response.json()["events"]]

    assert await ids("eventsapi.note_removed") == [removed]
    assert await ids("eventsapi.*") == [added, removed]
    assert await ids("eventsapi.note_added", "eventsapp.*") == [added, started]
    # `_` in a family is a literal, not a LIKE wildcard.
    assert await ids("eventsap_.*") == []


async def test_since_and_until_bound_events_by_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    [early] = await _publish(app, (NoteAdded(note_id="early", text="x"), admin.user_id))
    await asyncio.sleep(0.02)
    middle = datetime.now(UTC)
    await asyncio.sleep(0.02)
    [late] = await _publish(app, (NoteAdded(note_id="late", text="x"), admin.user_id))

    async def ids(**params: str) -> list[str]:
        response = await client.get("/api/v1/events", params=params, headers=admin.headers)
        assert response.status_code == 200, response.text
        return [event["id"] for event in response.json()["events"]]

    assert await ids(since=middle.isoformat()) == [late]
    assert await ids(until=middle.isoformat()) == [early]
    assert await ids(since=(middle - timedelta(hours=1)).isoformat()) == [early, late]
    assert await ids(since="1900-01-01T00:00:00") == [early, late]


async def test_all_shows_every_users_events_to_admins_and_is_refused_to_members(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    admin, member = await _two_users(client)
    ids = await _publish(
        app,
        (NoteAdded(note_id="m", text="x"), member.user_id),
        (NoteAdded(note_id="a", text="x"), admin.user_id),
        (Started(n=1), None),
    )
    own = (await client.get("/api/v1/events", headers=admin.headers)).json()
    assert [event["id"] for event in own["events"]] == [ids[1]]
    everyone = (
        await client.get("/api/v1/events", params={"all": "true"}, headers=admin.headers)
    ).json()
    assert [event["id"] for event in everyone["events"]] == ids
    refused = await client.get("/api/v1/events", params={"all": "true"}, headers=member.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "admins" in refused.json()["detail"]


async def test_bad_filters_are_422_problems_not_errors(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    for params in (
        {"type": "DROP TABLE events"},
        {"type": "*"},
        {"after": "not-an-id"},
        {"since": "yesterday"},
        {"limit": "0"},
        {"limit": "100000"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "2026-01-01T00:00:00", "until": "2026-01-01T00:00:00+00:00"},
    ):
        response = await client.get("/api/v1/events", params=params, headers=admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_events_need_a_signed_in_caller_with_the_events_read_scope(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    assert (await client.get("/api/v1/events")).status_code == 401
    assert (await client.get("/api/v1/events/types")).status_code == 401
    created = await client.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["jobs:read"]}, headers=admin.headers
    )
    jobs_only = {"X-API-Key": created.json()["key"]}
    refused = await client.get("/api/v1/events", headers=jobs_only)
    assert refused.status_code == 403
    assert "events:read" in refused.json()["detail"]
    created = await client.post(
        "/api/v1/api-keys", json={"name": "e", "scopes": ["events:read"]}, headers=admin.headers
    )
    assert (
        await client.get("/api/v1/events", headers={"X-API-Key": created.json()["key"]})
    ).status_code == 200
