"""Asana webhooks: the handshake through the sandbox, and signed deliveries verified."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from asana_support import Clock

from gigforge.integrations.asana import AsanaConnector
from gigforge.integrations.asana.errors import (
    AsanaAPIError,
    WebhookPayloadError,
    WebhookSignatureError,
)
from gigforge.integrations.asana.sandbox import (
    SEED_PROJECT_GID,
    AsanaSandbox,
    HookReply,
    WebhookDelivery,
)
from gigforge.integrations.asana.webhooks import read_webhook, sign
from gigforge.integrations.framework.records import ChangeAction, RecordKind

CALLBACK = "https://gigforge.example.com/hooks/asana/abc123"


@pytest.fixture
def clock() -> Clock:
    """Deliveries are checked against the real time, so the sandbox's events carry it."""
    return Clock(time.time())


class Receiver:
    """The app's webhook route in miniature: answers the handshake, keeps the secret, and
    reads each delivery with the connector."""

    def __init__(self, connector: AsanaConnector, *, echo: bool = True) -> None:
        self.connector = connector
        self.echo = echo
        self.secret: str | None = None
        self.changes: list[tuple[RecordKind, str, ChangeAction]] = []

    async def __call__(self, delivery: WebhookDelivery) -> HookReply:
        receipt = self.connector.parse_webhook(
            delivery.headers, delivery.body, url=delivery.url, secret=self.secret
        )
        if receipt.secret is not None:
            self.secret = receipt.secret
            return HookReply(200, dict(receipt.reply_headers) if self.echo else {})
        self.changes += [(c.kind, c.id, c.action) for c in receipt.changes]
        return HookReply(200)


async def _subscribed(connector: AsanaConnector, sandbox: AsanaSandbox) -> Receiver:
    receiver = Receiver(connector)
    sandbox.webhook_target = receiver
    subscription = await connector.subscribe(SEED_PROJECT_GID, callback_url=CALLBACK)
    assert subscription.secret == receiver.secret
    return receiver


async def test_subscribe_completes_the_handshake(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    receiver = await _subscribed(connector, sandbox)
    assert receiver.secret is not None
    (handshake,) = sandbox.handshakes
    assert handshake.headers == {"X-Hook-Secret": receiver.secret}
    (webhook,) = sandbox.store.webhooks.values()
    assert webhook["target"] == CALLBACK


async def test_subscription_refused_when_the_secret_is_not_echoed(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    sandbox.webhook_target = Receiver(connector, echo=False)
    with pytest.raises(AsanaAPIError) as refused:
        await connector.subscribe(SEED_PROJECT_GID, callback_url=CALLBACK)
    assert "handshake secret" in refused.value.detail
    assert sandbox.store.webhooks == {}


async def test_changes_made_in_asana_arrive_signed(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    receiver = await _subscribed(connector, sandbox)
    task_gid = await sandbox.create_task(SEED_PROJECT_GID, "Made in Asana")
    await sandbox.edit_task(task_gid, name="Renamed in Asana")
    sections = {s.name: s.id for s in await connector.statuses(SEED_PROJECT_GID)}
    await sandbox.move_task(task_gid, sections["Review"])
    await sandbox.delete_task(task_gid)
    assert (RecordKind.task, task_gid, ChangeAction.created) in receiver.changes
    assert (RecordKind.task, task_gid, ChangeAction.updated) in receiver.changes
    assert receiver.changes[-1] == (RecordKind.task, task_gid, ChangeAction.deleted)
    assert all(d.headers["X-Hook-Signature"] for d in sandbox.outbox)


async def test_api_changes_are_delivered_on_flush(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    receiver = await _subscribed(connector, sandbox)
    task = await connector.upsert(
        RecordKind.task,
        {"title": "From Gigforge", "project": SEED_PROJECT_GID},
        external_id=None,
        idempotency_key="task-key-hook-1",
    )
    assert receiver.changes == []
    await sandbox.flush_webhooks()
    assert (RecordKind.task, task.id, ChangeAction.created) in receiver.changes


async def test_unsubscribe_stops_deliveries(
    connector: AsanaConnector, sandbox: AsanaSandbox
) -> None:
    await _subscribed(connector, sandbox)
    (gid,) = sandbox.store.webhooks
    await connector.unsubscribe(gid)
    await connector.unsubscribe(gid)  # already gone: nothing to do
    await sandbox.create_task(SEED_PROJECT_GID, "Unheard")
    assert sandbox.outbox == []


def _delivery(secret: str, created_at: datetime) -> tuple[dict[str, str], bytes]:
    body = json.dumps(
        {
            "events": [
                {
                    "user": {"gid": "1", "resource_type": "user"},
                    "created_at": created_at.isoformat().replace("+00:00", "Z"),
                    "action": "changed",
                    "resource": {"gid": "42", "resource_type": "task"},
                    "parent": None,
                    "change": {"field": "name", "action": "changed"},
                }
            ]
        }
    ).encode()
    return {"X-Hook-Signature": sign(secret, body)}, body


NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_good_signature_reads_the_changes() -> None:
    headers, body = _delivery("s3cret", NOW)
    receipt = read_webhook(headers, body, secret="s3cret", now=NOW)
    (change,) = receipt.changes
    assert (change.kind, change.id, change.action) == (RecordKind.task, "42", ChangeAction.updated)
    assert change.occurred_at == NOW


def test_header_names_are_case_insensitive() -> None:
    headers, body = _delivery("s3cret", NOW)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert read_webhook(lowered, body, secret="s3cret", now=NOW).changes


def test_tampered_body_is_refused() -> None:
    headers, body = _delivery("s3cret", NOW)
    with pytest.raises(WebhookSignatureError):
        read_webhook(headers, body.replace(b"42", b"43"), secret="s3cret", now=NOW)


def test_wrong_secret_is_refused() -> None:
    headers, body = _delivery("s3cret", NOW)
    with pytest.raises(WebhookSignatureError):
        read_webhook(headers, body, secret="another", now=NOW)


def test_missing_or_garbage_signature_is_refused() -> None:
    _, body = _delivery("s3cret", NOW)
    with pytest.raises(WebhookSignatureError):
        read_webhook({}, body, secret="s3cret", now=NOW)
    with pytest.raises(WebhookSignatureError):
        read_webhook({"X-Hook-Signature": "é" * 64}, body, secret="s3cret", now=NOW)


def test_stale_delivery_is_refused() -> None:
    headers, body = _delivery("s3cret", NOW - timedelta(hours=26))
    with pytest.raises(WebhookSignatureError):
        read_webhook(headers, body, secret="s3cret", now=NOW)
    retried = NOW - timedelta(hours=23)
    headers, body = _delivery("s3cret", retried)
    assert read_webhook(headers, body, secret="s3cret", now=NOW).changes


def test_heartbeat_has_no_changes() -> None:
    body = b'{"events": []}'
    receipt = read_webhook({"X-Hook-Signature": sign("s3cret", body)}, body, secret="s3cret")
    assert receipt.changes == []


def test_signed_body_that_is_not_events_is_refused() -> None:
    body = b'{"data": 1}'
    with pytest.raises(WebhookPayloadError):
        read_webhook({"X-Hook-Signature": sign("s", body)}, body, secret="s")


def test_handshake_returns_the_echo_and_the_secret() -> None:
    receipt = read_webhook({"x-hook-secret": "abc"}, b"", secret=None)
    assert receipt.reply_headers == {"X-Hook-Secret": "abc"}
    assert receipt.secret == "abc"


def test_second_handshake_and_unsigned_delivery_without_secret_are_refused() -> None:
    with pytest.raises(WebhookSignatureError):
        read_webhook({"X-Hook-Secret": "other"}, b"", secret="kept")
    with pytest.raises(WebhookSignatureError):
        read_webhook({}, b'{"events": []}', secret=None)
