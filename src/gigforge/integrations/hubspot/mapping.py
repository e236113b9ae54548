"""Pure translation between HubSpot's CRM JSON and Gigforge's normalized records.

HubSpot returns every property value as a string (or null), times as ISO 8601 in UTC, ids as
numeric strings. A deal's `amount` is a decimal string in the deal's currency
(`deal_currency_code`, the account's company currency when unset). Errors come as
`{"status": "error", "message": ..., "correlationId": ..., "category": ...}`
(https://developers.hubspot.com/docs/api-reference/error-handling).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
)
from gigforge.integrations.framework.records import (
    ChangeAction,
    Pipeline,
    RecordKind,
    RemoteChange,
    RemoteRecord,
    Stage,
)
from gigforge.integrations.hubspot.spec import POLICY_WAITS, REF_PROPERTY, SOURCE_PROPERTY, SPEC
from gigforge.kit.money import major_to_minor, minor_to_major

OBJECT_TYPES: dict[RecordKind, str] = {
    RecordKind.contact: "contacts",
    RecordKind.company: "companies",
    RecordKind.deal: "deals",
}
# The singular names webhooks and the associations v4 paths use.
EVENT_OBJECTS = {kind.value: kind for kind in OBJECT_TYPES}
# HubSpot's object type ids, as its record pages spell them.
OBJECT_TYPE_IDS = {RecordKind.contact: "0-1", RecordKind.company: "0-2", RecordKind.deal: "0-3"}
# Contacts keep their modification time in `lastmodifieddate`; companies and deals in
# `hs_lastmodifieddate`.
MODIFIED_PROPERTY = {
    RecordKind.contact: "lastmodifieddate",
    RecordKind.company: "hs_lastmodifieddate",
    RecordKind.deal: "hs_lastmodifieddate",
}
# Normalized field -> HubSpot property, for the fields that are plain properties.
PROPERTY_NAMES: dict[RecordKind, dict[str, str]] = {
    RecordKind.contact: {
        "first_name": "firstname",
        "last_name": "lastname",
        "email": "email",
        "phone": "phone",
        "source": SOURCE_PROPERTY,
    },
    RecordKind.company: {"name": "name", "domain": "domain"},
    RecordKind.deal: {"name": "dealname", "stage": "dealstage", "pipeline": "pipeline"},
}
# Normalized fields held as associations: the field -> the object type it points at.
ASSOCIATION_FIELDS: dict[RecordKind, dict[str, str]] = {
    RecordKind.contact: {"company": "company"},
    RecordKind.company: {},
    RecordKind.deal: {"contact": "contact", "company": "company"},
}
DEAL_MONEY_FIELDS = frozenset({"amount_minor", "currency", "close_date"})
# The last result HubSpot's search pages to.
SEARCH_RESULT_CAP = 10_000
ACTIONS = {
    "creation": ChangeAction.created,
    "propertyChange": ChangeAction.updated,
    "restore": ChangeAction.created,
    "deletion": ChangeAction.deleted,
    "privacyDeletion": ChangeAction.deleted,
}


class UnmappableField(ValueError):
    """A normalized field this kind of HubSpot record cannot hold."""


def read_properties(kind: RecordKind) -> list[str]:
    """The properties to ask for when reading a record of `kind`."""
    names = [*PROPERTY_NAMES[kind].values(), REF_PROPERTY, MODIFIED_PROPERTY[kind]]
    if kind is RecordKind.contact:
        names.append("associatedcompanyid")
    if kind is RecordKind.deal:
        names += ["amount", "deal_currency_code", "closedate"]
    return names


def to_properties(
    kind: RecordKind, fields: Mapping[str, Any], *, default_currency: str | None
) -> dict[str, str]:
    """HubSpot properties for the given normalized fields (associations excluded). A None
    value clears the property, which HubSpot does with an empty string."""
    names = PROPERTY_NAMES[kind]
    properties: dict[str, str] = {}
    for field, value in fields.items():
        if field in names:
            properties[names[field]] = "" if value is None else str(value)
        elif field not in ASSOCIATION_FIELDS[kind] and not (
            kind is RecordKind.deal and field in DEAL_MONEY_FIELDS
        ):
            raise UnmappableField(f"a HubSpot {kind.value} has no {field!r} field")
    if kind is RecordKind.deal:
        properties.update(_deal_properties(fields, default_currency=default_currency))
    return properties


def _deal_properties(fields: Mapping[str, Any], *, default_currency: str | None) -> dict[str, str]:
    properties: dict[str, str] = {}
    currency = fields.get("currency")
    if currency is not None:
        properties["deal_currency_code"] = str(currency).upper()
    if "amount_minor" in fields:
        amount = fields["amount_minor"]
        if amount is None:
            properties["amount"] = ""
        else:
            in_currency = str(currency or default_currency or "").upper()
            if not in_currency:
                raise UnmappableField("a deal amount needs its currency")
            properties["amount"] = str(minor_to_major(int(amount), in_currency))
    if "close_date" in fields:
        value = fields["close_date"]
        # An ISO date: HubSpot stores it as that day's midnight UTC.
        properties["closedate"] = (
            "" if value is None else date.fromisoformat(str(value)).isoformat()
        )
    return properties


def associations_to_make(kind: RecordKind, fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(object type, id) pairs the record should be associated with."""
    wanted = ASSOCIATION_FIELDS[kind]
    return [(wanted[f], str(v)) for f, v in fields.items() if f in wanted and v is not None]


def to_record(
    kind: RecordKind,
    raw: Mapping[str, Any],
    *,
    default_currency: str | None = None,
    record_url: str | None = None,
) -> RemoteRecord:
    """A record from HubSpot's object JSON (`id`, `properties`, `updatedAt`, `archived`,
    and `associations` when they were asked for)."""
    properties = _mapping(raw.get("properties"))
    fields: dict[str, Any] = {}
    for field, name in PROPERTY_NAMES[kind].items():
        value = properties.get(name)
        if value not in (None, ""):
            fields[field] = value
    if kind is RecordKind.contact and properties.get("associatedcompanyid"):
        fields["company"] = str(properties["associatedcompanyid"])
    if kind is RecordKind.deal:
        fields.update(_deal_fields(properties, default_currency=default_currency))
        associated = _mapping(raw.get("associations"))
        for field, plural in (("contact", "contacts"), ("company", "companies")):
            results = _mapping(associated.get(plural)).get("results")
            if isinstance(results, Sequence) and results:
                first = _mapping(results[0])
                if first.get("id") is not None:
                    fields[field] = str(first["id"])
    updated = raw.get("updatedAt") or properties.get(MODIFIED_PROPERTY[kind])
    return RemoteRecord(
        kind=kind,
        id=str(raw["id"]),
        fields=fields,
        updated_at=parse_time(updated),
        deleted=bool(raw.get("archived")),
        url=record_url,
    )


def _deal_fields(properties: Mapping[str, Any], *, default_currency: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    currency = properties.get("deal_currency_code") or default_currency
    if currency:
        fields["currency"] = str(currency).upper()
    amount = properties.get("amount")
    if amount not in (None, "") and currency:
        # Finer than the currency's minor unit (or not a number): left out, not rounded.
        with contextlib.suppress(InvalidOperation, ValueError):
            fields["amount_minor"] = major_to_minor(Decimal(str(amount)), str(currency))
    close = properties.get("closedate")
    if close:
        fields["close_date"] = parse_time(close).date().isoformat()
    return fields


def record_url(ui_domain: str, portal_id: int | str, kind: RecordKind, record_id: str) -> str:
    return f"https://{ui_domain}/contacts/{portal_id}/record/{OBJECT_TYPE_IDS[kind]}/{record_id}"


def parse_time(value: Any) -> datetime:
    """HubSpot's times: ISO 8601 (`2026-01-05T10:00:00.123Z`) or Unix milliseconds."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"HubSpot sent no usable time: {value!r}")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def millis(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def search_body(
    kind: RecordKind, *, since_ms: int | None, after: str | None, limit: int
) -> dict[str, Any]:
    """The search for records changed at or after `since_ms`, oldest change first."""
    modified = MODIFIED_PROPERTY[kind]
    filters = (
        [{"propertyName": modified, "operator": "GTE", "value": str(since_ms)}]
        if since_ms is not None
        else []
    )
    body: dict[str, Any] = {
        "filterGroups": [{"filters": filters}] if filters else [],
        "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
        "properties": read_properties(kind),
        "limit": limit,
    }
    if after is not None:
        body["after"] = after
    return body


def reference_search_body(kind: RecordKind, reference: str) -> dict[str, Any]:
    """The search for the record created with our idempotency key."""
    return {
        "filterGroups": [
            {"filters": [{"propertyName": REF_PROPERTY, "operator": "EQ", "value": reference}]}
        ],
        "properties": read_properties(kind),
        "limit": 2,
    }


def encode_cursor(since_ms: int | None, after: str | None) -> str:
    return f"{'' if since_ms is None else since_ms}:{after or ''}"


def decode_cursor(cursor: str) -> tuple[int | None, str | None]:
    since, separator, after = cursor.partition(":")
    if not separator or (since and not since.isdigit()) or (after and not after.isdigit()):
        raise ValueError(f"{cursor!r} is not a HubSpot changes cursor")
    return (int(since) if since else None), (after or None)


def to_pipeline(raw: Mapping[str, Any]) -> Pipeline:
    """A pipeline; a stage is won when it is closed with probability 1.0, as HubSpot's
    `Closed won` stages are (the metadata values are strings)."""
    stages = []
    for stage in sorted(_list(raw.get("stages")), key=lambda s: int(s.get("displayOrder", 0))):
        metadata = _mapping(stage.get("metadata"))
        closed = str(metadata.get("isClosed", "false")).lower() == "true"
        try:
            probability = Decimal(str(metadata.get("probability", "0")))
        except InvalidOperation:
            probability = Decimal(0)
        stages.append(
            Stage(
                id=str(stage["id"]),
                label=str(stage.get("label", "")),
                closed=closed,
                won=closed and probability == 1,
            )
        )
    return Pipeline(id=str(raw["id"]), label=str(raw.get("label", "")), stages=stages)


def to_changes(events: Sequence[Any]) -> list[RemoteChange]:
    """The changes a webhook batch announces. Event types of objects and actions the sync
    engine does not follow (association changes, merges, other objects) are skipped."""
    changes = []
    for event in events:
        if not isinstance(event, Mapping):
            raise ValueError("a HubSpot webhook event is not an object")
        subscription = str(event.get("subscriptionType", ""))
        name, _, action = subscription.partition(".")
        kind = EVENT_OBJECTS.get(name)
        if kind is None or action not in ACTIONS or event.get("objectId") is None:
            continue
        fields: dict[str, Any] = {}
        property_name = event.get("propertyName")
        if action == "propertyChange" and property_name:
            fields[str(property_name)] = event.get("propertyValue")
        changes.append(
            RemoteChange(
                kind=kind,
                id=str(event["objectId"]),
                action=ACTIONS[action],
                occurred_at=parse_time(event.get("occurredAt")),
                event_id=str(event["eventId"]) if event.get("eventId") is not None else None,
                fields=fields,
            )
        )
    return changes


def error_from(body: Any, *, status: int | None) -> IntegrationError:
    """The framework error for HubSpot's error envelope, with HubSpot's own message."""
    fields = _mapping(body)
    message = fields.get("message")
    category = fields.get("category") or fields.get("errorType")
    detail = f"{SPEC.title}: {message}" if message else f"{SPEC.title} rejected the request"
    extras = {
        "category": str(category) if category else None,
        "correlation_id": fields.get("correlationId"),
    }
    if status == 401:
        return AuthExpired(detail, integration=SPEC.slug, status=status, **extras)
    if status == 429:
        policy = str(fields.get("policyName", ""))
        return RateLimited(
            detail,
            integration=SPEC.slug,
            retry_after=POLICY_WAITS.get(policy, 10.0),
            status=status,
            **extras,
        )
    if status is not None and status >= 500:
        return Transient(detail, integration=SPEC.slug, status=status, **extras)
    return Permanent(detail, integration=SPEC.slug, status=status, **extras)


def error_from_excerpt(excerpt: str | None, *, status: int | None) -> IntegrationError:
    """The transport keeps the first bytes of a refused answer: read the envelope in them."""
    try:
        body = json.loads(excerpt) if excerpt else None
    except ValueError:
        body = None
    return error_from(body, status=status)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []
