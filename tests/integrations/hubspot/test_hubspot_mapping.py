"""Pure mapping between HubSpot's JSON and normalized records, on documented shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gigforge.integrations.framework import AuthExpired, Permanent, RateLimited, Transient
from gigforge.integrations.framework.records import RecordKind
from gigforge.integrations.hubspot.mapping import (
    UnmappableField,
    decode_cursor,
    encode_cursor,
    error_from,
    search_body,
    to_pipeline,
    to_properties,
    to_record,
)
from gigforge.integrations.hubspot.spec import SPEC, HubSpotConfig, retry_delay

DEAL = {
    "id": "61002",
    "properties": {
        "dealname": "Booking backend",
        "amount": "1500.5",
        "deal_currency_code": "eur",
        "dealstage": "contractsent",
        "pipeline": "default",
        "closedate": "2026-02-28T00:00:00Z",
        "hs_lastmodifieddate": "2026-01-05T10:00:00.123Z",
    },
    "createdAt": "2026-01-05T09:00:00Z",
    "updatedAt": "2026-01-05T10:00:00.123Z",
    "archived": False,
}


def test_a_deal_amount_is_read_exactly_in_its_currency() -> None:
    record = to_record(RecordKind.deal, DEAL, default_currency="USD")

    assert record.fields["amount_minor"] == 150_050
    assert record.fields["currency"] == "EUR"
    assert record.fields["close_date"] == "2026-02-28"
    assert record.updated_at == datetime(2026, 1, 5, 10, 0, 0, 123_000, tzinfo=UTC)


def test_an_amount_finer_than_the_currency_is_left_out_not_rounded() -> None:
    raw = {**DEAL, "properties": {**DEAL["properties"], "amount": "10.005"}}  # type: ignore[dict-item]

    record = to_record(RecordKind.deal, raw)

    assert "amount_minor" not in record.fields
    assert record.fields["currency"] == "EUR"


def test_empty_properties_are_left_out_of_the_fields() -> None:
    raw = {"id": "1", "properties": {"firstname": "", "email": None}, "updatedAt": "2026-01-01"}

    assert dict(to_record(RecordKind.contact, raw).fields) == {}


def test_deal_fields_become_hubspot_properties() -> None:
    properties = to_properties(
        RecordKind.deal,
        {"name": "X", "amount_minor": 1_234, "currency": "kwd", "close_date": "2026-03-01"},
        default_currency=None,
    )

    assert properties == {
        "dealname": "X",
        "deal_currency_code": "KWD",
        "amount": "1.234",
        "closedate": "2026-03-01",
    }


def test_an_amount_without_any_currency_cannot_be_written() -> None:
    with pytest.raises(UnmappableField, match="needs its currency"):
        to_properties(RecordKind.deal, {"amount_minor": 100}, default_currency=None)


def test_the_modification_property_differs_for_contacts() -> None:
    contact = search_body(RecordKind.contact, since_ms=5, after=None, limit=100)
    deal = search_body(RecordKind.deal, since_ms=None, after="100", limit=100)

    assert contact["filterGroups"][0]["filters"] == [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "5"}
    ]
    assert deal["filterGroups"] == []
    assert deal["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert deal["after"] == "100"


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    assert decode_cursor(encode_cursor(1_700_000_000_000, "200")) == (1_700_000_000_000, "200")
    assert decode_cursor(encode_cursor(None, None)) == (None, None)
    with pytest.raises(ValueError, match="not a HubSpot changes cursor"):
        decode_cursor("abc")


def test_a_stage_is_won_only_when_closed_with_probability_one() -> None:
    pipeline = to_pipeline(
        {
            "id": "p",
            "label": "P",
            "stages": [
                {"id": "b", "label": "B", "displayOrder": 1, "metadata": {"isClosed": "true"}},
                {
                    "id": "a",
                    "label": "A",
                    "displayOrder": 0,
                    "metadata": {"isClosed": "true", "probability": "1.0"},
                },
                {"id": "c", "displayOrder": 2, "metadata": {"probability": "1.0"}},
            ],
        }
    )

    assert [(s.id, s.closed, s.won) for s in pipeline.stages] == [
        ("a", True, True),
        ("b", True, False),
        ("c", False, False),
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthExpired), (429, RateLimited), (400, Permanent), (502, Transient)],
)
def test_errors_keep_hubspots_message_and_category(status: int, error: type[Exception]) -> None:
    body = {"status": "error", "message": "Nope.", "category": "X", "correlationId": "c-1"}

    mapped = error_from(body, status=status)

    assert type(mapped) is error
    assert mapped.detail == "HubSpot: Nope."
    assert mapped.extensions["category"] == "X"


def test_a_429_body_names_the_wait() -> None:
    assert retry_delay('{"policyName": "TEN_SECONDLY_ROLLING"}') == 10.0
    assert retry_delay('{"policyName": "SECONDLY"}') == 1.0
    assert retry_delay('{"policyName": "DAILY"}') == 3600.0
    assert retry_delay("not json") is None


def test_the_config_schema_marks_secrets_write_only() -> None:
    schema = SPEC.config_schema()["properties"]

    assert schema["access_token"]["writeOnly"] is True
    assert schema["client_secret"]["writeOnly"] is True
    assert HubSpotConfig().access_token is None
