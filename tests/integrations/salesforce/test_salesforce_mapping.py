"""Pure mapping: My Domain URLs, cursors, Salesforce errors and money."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gigforge.integrations.framework.records import RecordKind
from gigforge.integrations.salesforce import my_domain_url
from gigforge.integrations.salesforce.mapping import (
    ChangeCursor,
    changes_soql,
    errors_from_excerpt,
    parse_limit_info,
    to_record,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://acme.my.salesforce.com",
        "https://Acme-Dev-Ed.develop.my.salesforce.com/",
        "https://acme--uat.sandbox.my.salesforce.com",
    ],
)
def test_my_domain_urls_are_accepted(url: str) -> None:
    assert my_domain_url(url) == url.lower().rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "https://login.salesforce.com",
        "https://na1.salesforce.com",
        "http://acme.my.salesforce.com",
        "https://acme.my.salesforce.com.evil.test",
        "https://acme.my.salesforce.com/services/data",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="My Domain URL"):
        my_domain_url(url)


def test_cursor_round_trips_and_refuses_foreign_locators() -> None:
    cursor = ChangeCursor(
        stamp=datetime(2026, 1, 5, 9, tzinfo=UTC),
        id="003000000000001AAA",
        locator="query/01gABC-200",
        deleted_since=datetime(2026, 1, 5, 8, 58, tzinfo=UTC),
    )
    assert ChangeCursor.decode(cursor.encode()) == cursor
    forged = ChangeCursor(locator="sobjects/User/005").encode()
    with pytest.raises(ValueError, match="not a Salesforce changes cursor"):
        ChangeCursor.decode(forged)


def test_keyset_query_escapes_the_id() -> None:
    query = changes_soql(
        RecordKind.contact,
        ("Id", "SystemModstamp"),
        since=None,
        after=(datetime(2026, 1, 5, 9, tzinfo=UTC), "x' OR Id != '"),
    )
    assert query == (
        "SELECT Id, SystemModstamp FROM Contact WHERE (SystemModstamp > 2026-01-05T09:00:00Z "
        "OR (SystemModstamp = 2026-01-05T09:00:00Z AND Id > 'x\\' OR Id != \\'')) "
        "ORDER BY SystemModstamp, Id"
    )


def test_error_array_and_oauth_errors_are_read() -> None:
    (error,) = errors_from_excerpt(
        '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
    )
    assert (error.code, error.message) == ("INVALID_SESSION_ID", "Session expired or invalid")
    (oauth,) = errors_from_excerpt('{"error":"invalid_grant","error_description":"expired"}')
    assert (oauth.code, oauth.message) == ("invalid_grant", "expired")
    assert errors_from_excerpt("<html>") == []


def test_limit_info_header() -> None:
    assert parse_limit_info("api-usage=18/5000") == (18, 5000)
    assert parse_limit_info(None) is None


def test_deal_amount_in_minor_units_and_website_as_domain() -> None:
    deal = to_record(
        RecordKind.deal,
        {
            "Id": "006000000000001AAA",
            "Name": "Yen deal",
            "Amount": 150000.0,
            "CurrencyIsoCode": "JPY",
            "SystemModstamp": "2026-01-05T09:00:00.000+0000",
        },
        site="https://acme.my.salesforce.com",
        default_currency=None,
    )
    assert (deal.fields["amount_minor"], deal.fields["currency"]) == (150_000, "JPY")
    assert deal.updated_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    company = to_record(
        RecordKind.company,
        {
            "Id": "001000000000001AAA",
            "Name": "Acme",
            "Website": "https://www.acme.test/about",
            "SystemModstamp": "2026-01-05T09:00:00.000+0000",
        },
        site="https://acme.my.salesforce.com",
        default_currency=None,
    )
    assert company.fields == {"name": "Acme", "domain": "acme.test"}
