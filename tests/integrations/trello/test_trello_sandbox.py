"""The sandbox speaks Trello's protocol: auth, errors, fields, actions and rate headers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gigforge.integrations.trello.sandbox import (
    SANDBOX_API_KEY,
    SANDBOX_TOKEN,
    TrelloSandbox,
)

AUTH = {"key": SANDBOX_API_KEY, "token": SANDBOX_TOKEN}


@pytest.fixture
async def http(sandbox: TrelloSandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_a_missing_or_wrong_key_or_token_is_401_in_plain_text(
    http: httpx.AsyncClient,
) -> None:
    no_key = await http.get("/1/members/me", params={"token": SANDBOX_TOKEN})
    bad_token = await http.get("/1/members/me", params={"key": SANDBOX_API_KEY, "token": "x"})

    assert (no_key.status_code, no_key.text) == (401, "invalid key")
    assert (bad_token.status_code, bad_token.text) == (401, "invalid token")
    assert bad_token.headers["content-type"].startswith("text/plain")


async def test_ids_are_object_ids_and_fields_select_what_is_returned(
    http: httpx.AsyncClient, sandbox: TrelloSandbox
) -> None:
    board = await http.get(f"/1/boards/{sandbox.seeded_board}", params={**AUTH, "fields": "name"})

    assert board.json() == {"id": sandbox.seeded_board, "name": "Client onboarding"}
    assert len(sandbox.seeded_board) == 24
    assert int(sandbox.seeded_board[:8], 16) == int(sandbox.clock())


async def test_malformed_and_unknown_ids_answer_as_trello_does(http: httpx.AsyncClient) -> None:
    malformed = await http.get("/1/cards/nope", params=AUTH)
    unknown = await http.get("/1/cards/0123456789abcdef01234567", params=AUTH)

    assert (malformed.status_code, malformed.text) == (400, "invalid id")
    assert (unknown.status_code, unknown.text) == (404, "The requested resource was not found.")


async def test_every_answer_carries_the_rate_limit_headers_and_429_names_the_limit(
    http: httpx.AsyncClient, sandbox: TrelloSandbox
) -> None:
    sandbox.token_limit = 1
    first = await http.get("/1/members/me", params=AUTH)
    second = await http.get("/1/members/me", params=AUTH)

    assert first.headers["x-rate-limit-api-token-max"] == "1"
    assert first.headers["x-rate-limit-api-token-remaining"] == "0"
    assert first.headers["x-rate-limit-api-key-interval-ms"] == "10000"
    assert second.status_code == 429
    assert second.json() == {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}


async def test_actions_come_newest_first_and_page_with_before(
    http: httpx.AsyncClient, sandbox: TrelloSandbox
) -> None:
    to_do = next(i["id"] for i in sandbox.lists.values() if i["name"] == "To Do")
    for number in range(3):
        await sandbox.person_adds_card(to_do, f"Card {number}")
    board = sandbox.seeded_board

    first = (
        await http.get(
            f"/1/boards/{board}/actions", params={**AUTH, "filter": "createCard", "limit": 2}
        )
    ).json()
    rest = (
        await http.get(
            f"/1/boards/{board}/actions",
            params={**AUTH, "filter": "createCard", "limit": 2, "before": first[-1]["id"]},
        )
    ).json()

    names = [a["data"]["card"]["name"] for a in first + rest]
    assert names == ["Card 2", "Card 1", "Card 0"]


async def test_cards_can_be_created_with_form_fields_like_trellos_own_examples(
    http: httpx.AsyncClient, sandbox: TrelloSandbox
) -> None:
    to_do = next(i["id"] for i in sandbox.lists.values() if i["name"] == "To Do")

    created = await http.post("/1/cards", params=AUTH, data={"idList": to_do, "name": "Form"})
    missing_list = await http.post("/1/cards", params=AUTH, json={"name": "No list"})

    assert created.json()["name"] == "Form"
    assert created.json()["idBoard"] == sandbox.seeded_board
    assert (missing_list.status_code, missing_list.text) == (400, "invalid value for idList")


async def test_an_unknown_route_is_a_plain_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/1/elephants", params=AUTH)
    assert response.status_code == 404
    assert response.text == "Cannot GET /1/elephants"
