"""Webhook verification as Atlassian documents it: `X-Hub-Signature` for admin webhooks with a
secret, a bearer JWT signed with the OAuth app's client secret for dynamic webhooks."""

from __future__ import annotations

import json
import time

import pytest

from gigforge.integrations.framework.records import ChangeAction, RecordKind
from gigforge.integrations.jira import JiraConfig, JiraConnector
from gigforge.integrations.jira.sandbox import SANDBOX_CLIENT_SECRET, JiraSandbox
from gigforge.integrations.jira.webhooks import (
    DEFAULT_TOLERANCE_SECONDS,
    WebhookRefused,
    app_token,
    sign_body,
    verify_delivery,
)

SECRET = "admin-webhook-secret-7f3a9c2e1b4d6f8a"
NOW = 1_790_000_000.0


def body(timestamp_ms: int | None = None, event: str = "jira:issue_updated") -> bytes:
    return json.dumps(
        {
            "timestamp": int(NOW * 1000) if timestamp_ms is None else timestamp_ms,
            "webhookEvent": event,
            "issue": {
                "id": "10002",
                "key": "GIG-2",
                "fields": {
                    "summary": "Write the API",
                    "status": {"id": "3", "name": "In Progress"},
                    "parent": {"id": "10001", "key": "GIG-1"},
                    "issuetype": {"name": "Task", "hierarchyLevel": 0},
                    "updated": "2026-09-21T10:00:00.000+0000",
                },
            },
        }
    ).encode()


def hub_headers(payload: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature": sign_body(secret, payload), "Content-Type": "application/json"}


def test_an_admin_webhook_signed_with_its_secret_is_accepted() -> None:
    payload = body()

    parsed = verify_delivery(hub_headers(payload), payload, SECRET, now=NOW)

    assert parsed["webhookEvent"] == "jira:issue_updated"


def test_header_names_are_matched_case_insensitively() -> None:
    payload = body()
    headers = {"x-hub-signature": sign_body(SECRET, payload)}

    assert verify_delivery(headers, payload, SECRET, now=NOW)["issue"]["key"] == "GIG-2"


def test_a_tampered_body_is_refused() -> None:
    payload = body()
    headers = hub_headers(payload)

    with pytest.raises(WebhookRefused, match="does not match"):
        verify_delivery(headers, payload.replace(b"Write", b"Wrote"), SECRET, now=NOW)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    payload = body()

    with pytest.raises(WebhookRefused, match="does not match"):
        verify_delivery(hub_headers(payload, "another-secret-0000"), payload, SECRET, now=NOW)


def test_a_stale_signed_body_is_refused() -> None:
    old = int((NOW - DEFAULT_TOLERANCE_SECONDS - 5) * 1000)
    payload = body(timestamp_ms=old)

    with pytest.raises(WebhookRefused, match="old"):
        verify_delivery(hub_headers(payload), payload, SECRET, now=NOW)


def test_a_signature_in_another_scheme_is_refused() -> None:
    payload = body()
    headers = {"X-Hub-Signature": "sha1=" + "0" * 40}

    with pytest.raises(WebhookRefused, match="not a sha256 signature"):
        verify_delivery(headers, payload, SECRET, now=NOW)


def test_an_unsigned_delivery_or_a_missing_secret_is_refused() -> None:
    payload = body()

    with pytest.raises(WebhookRefused, match="neither"):
        verify_delivery({}, payload, SECRET, now=NOW)
    with pytest.raises(WebhookRefused, match="no secret"):
        verify_delivery(hub_headers(payload), payload, None, now=NOW)


def test_a_dynamic_webhook_bearer_token_signed_with_the_client_secret_is_accepted() -> None:
    payload = body()
    token = app_token(SANDBOX_CLIENT_SECRET, issued_at=int(NOW))

    parsed = verify_delivery(
        {"Authorization": f"Bearer {token}"}, payload, SANDBOX_CLIENT_SECRET, now=NOW
    )

    assert parsed["issue"]["key"] == "GIG-2"


def test_a_bearer_token_signed_with_another_secret_is_refused() -> None:
    token = app_token("not-the-client-secret-0123456789abcdef", issued_at=int(NOW))

    with pytest.raises(WebhookRefused, match="not signed with the app's client secret"):
        verify_delivery(
            {"Authorization": f"Bearer {token}"}, body(), SANDBOX_CLIENT_SECRET, now=NOW
        )


def test_an_expired_bearer_token_is_refused() -> None:
    token = app_token(SANDBOX_CLIENT_SECRET, issued_at=int(NOW) - 3600, ttl=300)

    with pytest.raises(WebhookRefused, match="expired"):
        verify_delivery(
            {"Authorization": f"Bearer {token}"}, body(), SANDBOX_CLIENT_SECRET, now=NOW
        )


def test_a_bearer_token_with_the_none_algorithm_is_refused() -> None:
    import base64

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({'iat': int(NOW)})}."

    with pytest.raises(WebhookRefused):
        verify_delivery(
            {"Authorization": f"Bearer {unsigned}"}, body(), SANDBOX_CLIENT_SECRET, now=NOW
        )


async def test_the_sandboxs_admin_webhook_deliveries_verify_and_parse(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await jira.upsert(
        RecordKind.project,
        {"name": "Booking backend"},
        external_id=None,
        container="GIG",
        idempotency_key="epic-ref-0001",
    )
    sandbox.add_admin_webhook("https://gigforge.test/hooks/jira", SECRET, project="GIG")

    created = await sandbox.create_as_person(epic.id, "Added in Jira")
    delivery = sandbox.outbox[-1]
    receipt = jira.parse_webhook(delivery.headers, delivery.body, url=delivery.url, secret=SECRET)

    assert "X-Hub-Signature" in delivery.headers
    assert [(c.kind, c.id, c.action, c.parent_id) for c in receipt.changes] == [
        (RecordKind.task, created.key, ChangeAction.created, epic.id)
    ]
    assert abs(receipt.changes[0].occurred_at.timestamp() - time.time()) < 60


async def test_an_epic_change_is_read_as_a_project_change(
    jira: JiraConnector, sandbox: JiraSandbox
) -> None:
    epic = await jira.upsert(
        RecordKind.project,
        {"name": "Booking backend"},
        external_id=None,
        container="GIG",
        idempotency_key="epic-ref-0001",
    )
    sandbox.add_admin_webhook("https://gigforge.test/hooks/jira", SECRET)

    await sandbox.edit_as_person(epic.id, summary="Booking backend v2")
    delivery = sandbox.outbox[-1]
    change = jira.parse_webhook(
        delivery.headers, delivery.body, url=delivery.url, secret=SECRET
    ).changes[0]

    assert (change.kind, change.action, change.fields["name"]) == (
        RecordKind.project,
        ChangeAction.updated,
        "Booking backend v2",
    )


def test_a_signed_body_that_is_not_an_issue_event_gives_no_change(jira: JiraConnector) -> None:
    payload = json.dumps(
        {"timestamp": int(time.time() * 1000), "webhookEvent": "sprint_started"}
    ).encode()

    receipt = jira.parse_webhook(hub_headers(payload), payload, url="https://x.test", secret=SECRET)

    assert receipt.changes == []
    assert JiraConfig().epic_issue_type == "Epic"
