"""HubSpot's v3 webhook signature and the changes a webhook batch announces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from hubspot_helpers import Clock, ConnectorFactory, token_credentials
from pydantic import SecretStr

from gigforge.integrations.framework import Permanent
from gigforge.integrations.framework.records import ChangeAction, RecordKind
from gigforge.integrations.hubspot import HubSpotConfig, HubSpotConnector
from gigforge.integrations.hubspot.sandbox import CLIENT_SECRET, HubSpotSandbox
from gigforge.integrations.hubspot.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSignatureError,
    read_events,
    sign,
    signed_uri,
    verify_signature,
)

URL = "https://gigforge.example/api/v1/integrations/hubspot/webhooks?connection=7"
NOW_MS = 1_767_225_600_000
EVENTS = [
    {
        "eventId": 3_001,
        "subscriptionId": 4_000_001,
        "portalId": 24_681_357,
        "appId": 3_141_592,
        "occurredAt": NOW_MS - 2_000,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": 51_001,
        "propertyName": "email",
        "propertyValue": "ada@example.com",
        "changeSource": "CRM_UI",
    },
    {
        "eventId": 3_002,
        "subscriptionType": "deal.creation",
        "objectId": 61_002,
        "occurredAt": NOW_MS - 1_000,
        "changeFlag": "NEW",
    },
    {
        "eventId": 3_003,
        "subscriptionType": "company.deletion",
        "objectId": 71_003,
        "occurredAt": NOW_MS,
        "changeFlag": "DELETED",
    },
    {
        "eventId": 3_004,
        "subscriptionType": "contact.associationChange",
        "objectId": 51_001,
        "occurredAt": NOW_MS,
    },
    {"eventId": 3_005, "subscriptionType": "ticket.creation", "objectId": 9, "occurredAt": NOW_MS},
]
BODY = json.dumps(EVENTS).encode()


def signed(
    body: bytes = BODY,
    *,
    secret: str = CLIENT_SECRET,
    url: str = URL,
    timestamp: int = NOW_MS,
) -> dict[str, str]:
    stamp = str(timestamp)
    return {
        SIGNATURE_HEADER: sign(secret, method="POST", url=url, body=body, timestamp=stamp),
        TIMESTAMP_HEADER: stamp,
    }


def test_the_signature_is_hubspots_documented_hmac() -> None:
    source = b"POST" + URL.encode() + BODY + str(NOW_MS).encode()
    expected = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), source, hashlib.sha256).digest())

    assert signed()[SIGNATURE_HEADER] == expected.decode()


def test_a_good_signature_is_accepted_and_returns_the_timestamp() -> None:
    assert verify_signature(signed(), BODY, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS) == (
        NOW_MS
    )


def test_header_names_are_matched_whatever_their_case() -> None:
    headers = {name.lower(): value for name, value in signed().items()}

    assert verify_signature(headers, BODY, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


def test_a_tampered_body_is_refused() -> None:
    tampered = BODY.replace(b"ada@example.com", b"eve@example.com")

    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(signed(), tampered, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


def test_another_url_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(signed(), BODY, secret=CLIENT_SECRET, url=URL + "&x=1", now_ms=NOW_MS)


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="client secret"):
        verify_signature(
            signed(secret="another-apps-secret"),
            BODY,
            secret=CLIENT_SECRET,
            url=URL,
            now_ms=NOW_MS,
        )


def test_a_request_older_than_five_minutes_is_refused() -> None:
    stale = signed(timestamp=NOW_MS - 300_001)

    with pytest.raises(WebhookSignatureError, match="300s old"):
        verify_signature(stale, BODY, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


def test_a_request_just_inside_five_minutes_is_accepted() -> None:
    recent = signed(timestamp=NOW_MS - 299_000)

    assert verify_signature(recent, BODY, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


def test_a_request_from_the_far_future_is_refused() -> None:
    future = signed(timestamp=NOW_MS + 600_000)

    with pytest.raises(WebhookSignatureError, match="far in the future"):
        verify_signature(future, BODY, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({TIMESTAMP_HEADER: str(NOW_MS)}, "X-HubSpot-Signature-v3 header is missing"),
        ({SIGNATURE_HEADER: "abc="}, "X-HubSpot-Request-Timestamp header is missing"),
        ({SIGNATURE_HEADER: "abc=", TIMESTAMP_HEADER: "١٢٣"}, "not a time in milliseconds"),
        ({SIGNATURE_HEADER: "abc=", TIMESTAMP_HEADER: "9" * 400}, "not a time in milliseconds"),
        ({SIGNATURE_HEADER: "ü", TIMESTAMP_HEADER: str(NOW_MS)}, "does not match"),
    ],
)
def test_missing_or_malformed_headers_are_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason):
        verify_signature(headers, BODY, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


def test_the_uri_is_signed_with_hubspots_percent_encodings_decoded() -> None:
    encoded = "https://gigforge.example/hooks%3Fa=b%2Cc%40d%3D"

    # Only the characters HubSpot lists are decoded; `%3D` stays as sent.
    assert signed_uri(encoded) == "https://gigforge.example/hooks?a=b,c@d%3D"
    assert signed_uri("https://x.example/a%20b%2f") == "https://x.example/a%20b/"
    headers = signed(url="https://gigforge.example/hooks?a=b,c@d%3D")
    assert verify_signature(headers, BODY, secret=CLIENT_SECRET, url=encoded, now_ms=NOW_MS)


def test_a_signed_body_that_is_not_an_array_is_refused() -> None:
    body = b'{"eventId": 1}'

    with pytest.raises(Permanent, match="not an array"):
        read_events(signed(body), body, secret=CLIENT_SECRET, url=URL, now_ms=NOW_MS)


def test_webhook_events_become_changes_and_unfollowed_ones_are_skipped(
    connector: HubSpotConnector, clock: Clock
) -> None:
    headers = signed(timestamp=int(datetime.now(tz=UTC).timestamp() * 1000))

    receipt = connector.parse_webhook(headers, BODY, url=URL)

    assert [(c.kind, c.id, c.action, c.event_id) for c in receipt.changes] == [
        (RecordKind.contact, "51001", ChangeAction.updated, "3001"),
        (RecordKind.deal, "61002", ChangeAction.created, "3002"),
        (RecordKind.company, "71003", ChangeAction.deleted, "3003"),
    ]
    assert dict(receipt.changes[0].fields) == {"email": "ada@example.com"}
    assert receipt.changes[0].occurred_at == datetime.fromtimestamp((NOW_MS - 2_000) / 1000, tz=UTC)
    assert receipt.reply_headers == {}


def test_the_connector_refuses_a_webhook_signed_with_another_secret(
    connector: HubSpotConnector,
) -> None:
    headers = signed(secret="not-ours", timestamp=int(datetime.now(tz=UTC).timestamp() * 1000))

    with pytest.raises(WebhookSignatureError):
        connector.parse_webhook(headers, BODY, url=URL)


def test_a_connection_without_the_client_secret_cannot_verify_webhooks(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(
        token_credentials(),
        with_config=HubSpotConfig(access_token=SecretStr("pat-na1-x"), client_secret=None),
    )

    with pytest.raises(Permanent, match="no client secret"):
        connector.parse_webhook(signed(), BODY, url=URL)


async def test_sandbox_deliveries_verify_with_the_apps_client_secret(
    sandbox: HubSpotSandbox, clock: Clock
) -> None:
    contact = await sandbox.add("contact", firstname="Ada")
    await sandbox.edit("contact", contact, firstname="Augusta", email="ada@example.com")

    first, second = sandbox.outbox
    now_ms = int(clock.now * 1000)
    for delivery in (first, second):
        events = read_events(
            delivery.headers,
            delivery.body,
            secret=CLIENT_SECRET,
            url=delivery.url,
            now_ms=now_ms,
        )
        assert events == delivery.events()
    assert [e["subscriptionType"] for e in first.events()] == ["contact.creation"]
    assert [(e["propertyName"], e["propertyValue"]) for e in second.events()] == [
        ("email", "ada@example.com"),
        ("firstname", "Augusta"),
    ]
