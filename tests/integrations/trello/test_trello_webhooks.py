"""Webhooks: the HEAD check on subscribe, signed deliveries, and their verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from trello_support import Clock, ConnectorFactory

from gigforge.integrations.framework import Permanent
from gigforge.integrations.framework.records import ChangeAction, RecordKind
from gigforge.integrations.trello import TrelloConnector
from gigforge.integrations.trello.sandbox import SANDBOX_APP_SECRET, TrelloSandbox, WebhookDelivery
from gigforge.integrations.trello.webhooks import (
    SIGNATURE_HEADER,
    WebhookRefused,
    read_delivery,
    sign,
)

CALLBACK = "https://gigforge.example/api/v1/integrations/trello/webhooks?connection=42"


class Callback:
    """The app's callback endpoint as Trello reaches it: answers HEAD, keeps each POST."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.checked: list[str] = []
        self.received: list[WebhookDelivery] = []

    async def head(self, url: str) -> int:
        self.checked.append(url)
        return self.status

    async def post(self, delivery: WebhookDelivery) -> None:
        self.received.append(delivery)


@pytest.fixture
def callback(sandbox: TrelloSandbox) -> Callback:
    endpoint = Callback()
    sandbox.callback_check = endpoint.head
    sandbox.webhook_target = endpoint.post
    return endpoint


def lists_by_name(sandbox: TrelloSandbox, board_id: str) -> dict[str, str]:
    return {i["name"]: i["id"] for i in sandbox.lists.values() if i["idBoard"] == board_id}


async def test_subscribing_checks_the_callback_with_head_then_registers_the_webhook(
    connector: TrelloConnector, sandbox: TrelloSandbox, callback: Callback
) -> None:
    subscription = await connector.subscribe(sandbox.seeded_board, callback_url=CALLBACK)

    assert callback.checked == [CALLBACK]
    assert subscription.callback_url == CALLBACK
    assert subscription.secret is None
    webhook = sandbox.webhooks[subscription.id]
    assert (webhook["idModel"], webhook["callbackURL"]) == (sandbox.seeded_board, CALLBACK)


async def test_a_callback_that_does_not_answer_200_is_refused_with_trellos_message(
    connector: TrelloConnector, sandbox: TrelloSandbox, callback: Callback
) -> None:
    callback.status = 404

    with pytest.raises(Permanent) as raised:
        await connector.subscribe(sandbox.seeded_board, callback_url=CALLBACK)

    assert raised.value.detail == (
        f"Trello: URL ({CALLBACK}) did not return 200 status code, got 404"
    )
    assert sandbox.webhooks == {}


async def test_unsubscribing_deletes_the_webhook_and_is_idempotent(
    connector: TrelloConnector, sandbox: TrelloSandbox, callback: Callback
) -> None:
    subscription = await connector.subscribe(sandbox.seeded_board, callback_url=CALLBACK)

    await connector.unsubscribe(subscription.id)
    await connector.unsubscribe(subscription.id)

    assert sandbox.webhooks == {}
    await sandbox.person_renames_board(sandbox.seeded_board, "Renamed")
    assert callback.received == []


async def test_a_person_moving_a_card_arrives_as_a_verified_task_update(
    connector: TrelloConnector, sandbox: TrelloSandbox, callback: Callback
) -> None:
    board = sandbox.seeded_board
    await connector.subscribe(board, callback_url=CALLBACK)
    card = next(iter(sandbox.cards.values()))
    done = lists_by_name(sandbox, board)["Done"]

    await sandbox.person_moves_card(card["id"], done)

    (delivery,) = callback.received
    receipt = connector.parse_webhook(delivery.headers, delivery.body, url=delivery.url)
    (change,) = receipt.changes
    assert (change.kind, change.id, change.action) == (
        RecordKind.task,
        card["id"],
        ChangeAction.updated,
    )
    assert change.fields == {"status": done}
    assert change.parent_id == board
    assert change.event_id == delivery.json()["action"]["id"]


async def test_each_kind_of_card_action_maps_to_its_change(
    connector: TrelloConnector, sandbox: TrelloSandbox, callback: Callback, clock: Clock
) -> None:
    board = sandbox.seeded_board
    await connector.subscribe(board, callback_url=CALLBACK)
    to_do = lists_by_name(sandbox, board)["To Do"]

    card = await sandbox.person_adds_card(to_do, "From a person", desc="Hello")
    await sandbox.person_edits_card(card["id"], name="Renamed", due="2026-04-01T15:00:00.000Z")
    await sandbox.person_archives_card(card["id"])
    await sandbox.person_deletes_card(card["id"])
    await sandbox.person_renames_board(board, "Onboarding v2")

    changes = [
        connector.parse_webhook(d.headers, d.body, url=d.url).changes[0] for d in callback.received
    ]
    assert [(c.kind, c.action) for c in changes] == [
        (RecordKind.task, ChangeAction.created),
        (RecordKind.task, ChangeAction.updated),
        (RecordKind.task, ChangeAction.deleted),
        (RecordKind.task, ChangeAction.deleted),
        (RecordKind.project, ChangeAction.updated),
    ]
    assert changes[0].fields == {"title": "From a person", "status": to_do}
    assert changes[1].fields == {"title": "Renamed", "due": "2026-04-01", "status": to_do}
    assert changes[4].fields == {"name": "Onboarding v2"}


async def test_an_action_the_engine_does_not_keep_gives_no_change(
    connector: TrelloConnector,
) -> None:
    body = json.dumps(
        {
            "action": {
                "id": "65f0a0a0a0a0a0a0a0a0a0a0",
                "type": "commentCard",
                "date": _now(),
                "data": {"card": {"id": "65f0a0a0a0a0a0a0a0a0a0a1"}, "text": "nice"},
            },
            "model": {},
        }
    ).encode()

    receipt = connector.parse_webhook(_signed(body), body, url=CALLBACK)

    assert receipt.changes == []


async def test_a_tampered_body_is_refused(connector: TrelloConnector) -> None:
    body = _delivery_body()
    headers = _signed(body)

    with pytest.raises(WebhookRefused, match="does not match"):
        connector.parse_webhook(headers, body.replace(b"Renamed", b"Hijack!"), url=CALLBACK)


async def test_a_delivery_signed_for_another_callback_url_is_refused(
    connector: TrelloConnector,
) -> None:
    body = _delivery_body()
    headers = _signed(body, url="https://elsewhere.example/hook")

    with pytest.raises(WebhookRefused):
        connector.parse_webhook(headers, body, url=CALLBACK)


async def test_a_delivery_signed_with_another_secret_is_refused(
    connector: TrelloConnector,
) -> None:
    body = _delivery_body()

    with pytest.raises(WebhookRefused):
        connector.parse_webhook(_signed(body, secret="not-the-app-secret"), body, url=CALLBACK)


async def test_the_secret_passed_by_the_caller_is_the_one_used(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(app_secret=None)
    body = _delivery_body()

    with pytest.raises(Permanent, match="without the app secret"):
        connector.parse_webhook(_signed(body), body, url=CALLBACK)
    receipt = connector.parse_webhook(_signed(body), body, url=CALLBACK, secret=SANDBOX_APP_SECRET)
    assert receipt.changes[0].fields["title"] == "Renamed"


async def test_a_missing_signature_is_refused(connector: TrelloConnector) -> None:
    body = _delivery_body()
    with pytest.raises(WebhookRefused, match="header is missing"):
        connector.parse_webhook({"Content-Type": "application/json"}, body, url=CALLBACK)


def test_a_stale_action_is_refused_even_when_signed() -> None:
    body = _delivery_body(date="2026-01-01T00:00:00.000Z")
    signed_now = time.time()

    with pytest.raises(WebhookRefused, match="old"):
        read_delivery(_signed(body), body, secret=SANDBOX_APP_SECRET, callback_url=CALLBACK)
    receipt = read_delivery(
        _signed(body),
        body,
        secret=SANDBOX_APP_SECRET,
        callback_url=CALLBACK,
        max_age=signed_now,
    )
    assert len(receipt.changes) == 1


def test_the_signature_header_is_found_whatever_its_case() -> None:
    body = _delivery_body()
    headers = {SIGNATURE_HEADER.lower(): sign(SANDBOX_APP_SECRET, body, CALLBACK)}

    receipt = read_delivery(headers, body, secret=SANDBOX_APP_SECRET, callback_url=CALLBACK)

    assert receipt.changes[0].action is ChangeAction.updated


def test_signing_is_base64_hmac_sha1_of_body_then_url() -> None:
    # HMAC-SHA1("secret", "{}" + "https://x.example/cb"), base64: computed independently.
    expected = base64.b64encode(
        hmac.new(b"secret", b"{}https://x.example/cb", hashlib.sha1).digest()
    ).decode()
    assert sign("secret", b"{}", "https://x.example/cb") == expected


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _delivery_body(date: str | None = None) -> bytes:
    return json.dumps(
        {
            "action": {
                "id": "65f0a0a0a0a0a0a0a0a0a0b0",
                "type": "updateCard",
                "date": date or _now(),
                "data": {
                    "card": {"id": "65f0a0a0a0a0a0a0a0a0a0b1", "name": "Renamed"},
                    "old": {"name": "Before"},
                    "board": {"id": "65f0a0a0a0a0a0a0a0a0a0b2"},
                },
            },
            "model": {"id": "65f0a0a0a0a0a0a0a0a0a0b2"},
        }
    ).encode()


def _signed(
    body: bytes, *, secret: str = SANDBOX_APP_SECRET, url: str = CALLBACK
) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(secret, body, url)}
