"""The Salesforce connector against its sandbox, through the real policy layer."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from salesforce_support import Clock, ConnectorFactory, SalesforceTokens, bearer
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gigforge.integrations.framework import (
    AuthExpired,
    HeaderCredentials,
    NotSupported,
    Permanent,
    RateLimited,
    static_secret,
)
from gigforge.integrations.framework.records import RecordKind
from gigforge.integrations.salesforce import (
    SPEC,
    MissingExternalIdField,
    SalesforceConfig,
    SalesforceConnector,
    UpsertItem,
)
from gigforge.integrations.salesforce.sandbox import SalesforceSandbox, create_sandbox
from sandbox_support import RecordedSleep

CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "source": "Upwork",
}


async def test_test_call_reports_the_daily_allocation(connector: SalesforceConnector) -> None:
    details = await connector.test()
    assert details == {"daily_api_requests": 15_000, "remaining": 14_999}
    assert connector.api_usage == (1, 15_000)


async def test_create_by_external_id_and_read_back(
    connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    record = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="job-42-contact"
    )
    assert record.kind is RecordKind.contact
    assert record.id.startswith("003")
    assert len(record.id) == 18
    assert record.fields == CONTACT
    assert record.url == f"http://sandbox/lightning/r/Contact/{record.id}/view"
    stored = sandbox.records["Contact"][record.id]
    assert stored["Gigforge_Ref__c"] == "job-42-contact"
    assert stored["LeadSource"] == "Upwork"
    assert ("PATCH", "/services/data/v62.0/sobjects/Contact/Gigforge_Ref__c/job-42-contact") in (
        sandbox.calls
    )


async def test_retried_create_with_the_same_key_makes_one_record(
    connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    first = await connector.upsert(
        RecordKind.company, {"name": "Acme"}, external_id=None, idempotency_key="co-1:acme"
    )
    again = await connector.upsert(
        RecordKind.company,
        {"name": "Acme", "domain": "acme.test"},
        external_id=None,
        idempotency_key="co-1:acme",
    )
    assert again.id == first.id
    assert again.fields == {"name": "Acme", "domain": "acme.test"}
    assert len(sandbox.records["Account"]) == 1


class LoseFirstWriteAnswer:
    """Lets the first PATCH reach Salesforce, then loses its answer behind a 503, as a
    dropped connection after the write would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lost = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PATCH" or self.lost:
            await self.app(scope, receive, send)
            return
        self.lost += 1

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        await Response(status_code=503)(scope, receive, send)


async def test_create_whose_answer_was_lost_is_replayed_into_the_same_record(
    sandbox: SalesforceSandbox, make_connector: ConnectorFactory, sleep: RecordedSleep
) -> None:
    lossy = LoseFirstWriteAnswer(sandbox.app)
    connector = make_connector(bearer(sandbox), app=lossy)
    record = await connector.upsert(
        RecordKind.deal,
        {"name": "Logo", "stage": "Prospecting", "close_date": "2026-02-01"},
        external_id=None,
        idempotency_key="deal-7",
    )
    assert lossy.lost == 1
    assert len(sleep.delays) == 1
    assert list(sandbox.records["Opportunity"]) == [record.id]
    assert record.fields["stage"] == "Prospecting"


async def test_update_by_record_id_changes_only_given_fields(
    connector: SalesforceConnector, sandbox: SalesforceSandbox, clock: Clock
) -> None:
    created = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="contact-1"
    )
    clock.advance(minutes=5)
    updated = await connector.upsert(
        RecordKind.contact, {"phone": "+44 20 1234"}, external_id=created.id, idempotency_key="u1"
    )
    assert updated.fields == {**CONTACT, "phone": "+44 20 1234"}
    assert updated.updated_at - created.updated_at == timedelta(minutes=5)


async def test_deal_money_stage_and_links(
    connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    company = await connector.upsert(
        RecordKind.company, {"name": "Acme"}, external_id=None, idempotency_key="co-acme"
    )
    contact = await connector.upsert(
        RecordKind.contact,
        {**CONTACT, "company": company.id},
        external_id=None,
        idempotency_key="ct-ada",
    )
    deal = await connector.upsert(
        RecordKind.deal,
        {
            "name": "Website rebuild",
            "amount_minor": 125_050,
            "currency": "EUR",
            "stage": "Closed Won",
            "close_date": "2026-01-31",
            "company": company.id,
            "contact": contact.id,
            "pipeline": "opportunity",
        },
        external_id=None,
        idempotency_key="deal-site",
    )
    stored = sandbox.records["Opportunity"][deal.id]
    assert stored["Amount"] == 1250.5
    assert stored["CurrencyIsoCode"] == "EUR"
    assert deal.fields == {
        "name": "Website rebuild",
        "amount_minor": 125_050,
        "currency": "EUR",
        "stage": "Closed Won",
        "close_date": "2026-01-31",
        "company": company.id,
        "contact": contact.id,
        "pipeline": "opportunity",
    }


async def test_single_currency_org_reads_amounts_in_its_currency(
    make_connector: ConnectorFactory, clock: Clock
) -> None:
    org = create_sandbox(clock=clock, multi_currency=False)
    connector = make_connector(bearer(org), on=org)
    deal = await connector.upsert(
        RecordKind.deal,
        {
            "name": "Audit",
            "amount_minor": 90_000,
            "currency": "USD",
            "stage": "Prospecting",
            "close_date": "2026-03-01",
        },
        external_id=None,
        idempotency_key="deal-audit",
    )
    assert "CurrencyIsoCode" not in org.records["Opportunity"][deal.id]
    assert (deal.fields["amount_minor"], deal.fields["currency"]) == (90_000, "USD")
    with pytest.raises(Permanent, match="keeps amounts in USD only"):
        await connector.upsert(
            RecordKind.deal,
            {"amount_minor": 100, "currency": "EUR"},
            external_id=deal.id,
            idempotency_key="deal-audit-eur",
        )


async def test_get_missing_and_deleted_records_are_none(
    connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    assert await connector.get(RecordKind.contact, "003000000000000AAA") is None
    created = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="contact-gone"
    )
    await connector.delete(RecordKind.contact, created.id)
    assert created.id not in sandbox.records["Contact"]
    assert await connector.get(RecordKind.contact, created.id) is None
    await connector.delete(RecordKind.contact, created.id)  # already gone: still done


async def test_updating_a_missing_record_is_a_permanent_error_with_salesforce_words(
    connector: SalesforceConnector,
) -> None:
    with pytest.raises(Permanent) as caught:
        await connector.upsert(
            RecordKind.contact,
            {"phone": "1"},
            external_id="003000000000000AAA",
            idempotency_key="nope",
        )
    assert caught.value.detail == ("Salesforce: NOT_FOUND: The requested resource does not exist")
    assert caught.value.upstream_status == 404
    assert caught.value.extensions["error_code"] == "NOT_FOUND"


async def test_validation_error_carries_code_and_fields(connector: SalesforceConnector) -> None:
    with pytest.raises(Permanent) as caught:
        await connector.upsert(
            RecordKind.contact, {"first_name": "Ada"}, external_id=None, idempotency_key="k-1"
        )
    assert "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]" in (
        caught.value.detail
    )
    assert caught.value.extensions["fields"] == ["LastName"]


async def test_org_without_the_external_id_field_gets_a_clear_error(
    make_connector: ConnectorFactory, clock: Clock
) -> None:
    org = create_sandbox(clock=clock, external_id_field=None)
    connector = make_connector(bearer(org), on=org)
    with pytest.raises(MissingExternalIdField) as caught:
        await connector.upsert(
            RecordKind.contact, CONTACT, external_id=None, idempotency_key="contact-1"
        )
    assert "Gigforge_Ref__c" in caught.value.detail
    assert "External ID and Unique" in caught.value.detail
    assert org.records["Contact"] == {}


async def test_unknown_kind_and_field_are_refused(connector: SalesforceConnector) -> None:
    with pytest.raises(NotSupported):
        await connector.get(RecordKind.task, "003000000000000AAA")
    with pytest.raises(Permanent, match="no field for 'title'"):
        await connector.upsert(
            RecordKind.contact, {"title": "x"}, external_id=None, idempotency_key="k-2"
        )
    with pytest.raises(Permanent, match="not a Salesforce record id"):
        await connector.get(RecordKind.contact, "../limits")


async def test_invalid_session_refreshes_the_token_once(
    oauth_connector: SalesforceConnector, sandbox: SalesforceSandbox, tokens: SalesforceTokens
) -> None:
    sandbox.oauth.expire_access_tokens()
    details = await oauth_connector.test()
    assert details["daily_api_requests"] == 15_000
    assert sandbox.oauth.refresh_count == 1
    answer = tokens.answers[0]
    assert answer["instance_url"] == "http://sandbox"
    assert "refresh_token" not in answer
    assert "expires_in" not in answer


async def test_refused_refresh_is_auth_expired(
    oauth_connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    sandbox.oauth.expire_access_tokens()
    sandbox.oauth.refusing_refresh = True
    with pytest.raises(AuthExpired) as caught:
        await oauth_connector.test()
    assert caught.value.upstream_status == 401


async def test_bad_token_is_auth_expired(make_connector: ConnectorFactory) -> None:
    connector = make_connector(HeaderCredentials(static_secret("not-a-token")))
    with pytest.raises(AuthExpired):
        await connector.get(RecordKind.contact, "003000000000000AAA")


async def test_429_is_retried_after_retry_after(
    connector: SalesforceConnector, sandbox: SalesforceSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429, sandbox.faults.retry_after = 2, 3
    assert (await connector.test())["daily_api_requests"] == 15_000
    assert sleep.delays == [3.0, 3.0]


async def test_spent_allocation_is_rate_limited(
    make_connector: ConnectorFactory, clock: Clock
) -> None:
    org = create_sandbox(clock=clock, api_allocation=1)
    connector = make_connector(bearer(org), on=org)
    await connector.test()
    with pytest.raises(RateLimited) as caught:
        await connector.test()
    assert caught.value.retry_after == 3600.0
    assert "TotalRequests Limit exceeded." in caught.value.detail
    assert caught.value.extensions["error_code"] == "REQUEST_LIMIT_EXCEEDED"


async def test_pipelines_from_the_stage_picklist(connector: SalesforceConnector) -> None:
    (pipeline,) = await connector.pipelines()
    assert pipeline.id == "opportunity"
    stages = {stage.id: stage for stage in pipeline.stages}
    assert next(iter(stages)) == "Prospecting"
    assert (stages["Closed Won"].closed, stages["Closed Won"].won) == (True, True)
    assert (stages["Closed Lost"].closed, stages["Closed Lost"].won) == (True, False)
    assert not stages["Negotiation/Review"].closed


async def test_changes_page_through_query_locators_then_resume_by_modstamp(
    connector: SalesforceConnector, sandbox: SalesforceSandbox, clock: Clock
) -> None:
    start = clock()
    for index in range(450):
        sandbox.add("Contact", LastName=f"Person {index:03d}")
        if index % 100 == 99:
            clock.advance(seconds=1)
    pages = []
    cursor = None
    while True:
        page = await connector.changes(RecordKind.contact, since=start, cursor=cursor)
        pages.append(page)
        cursor = page.cursor
        if not page.has_more:
            break
    assert [len(page.records) for page in pages] == [200, 200, 50]
    ids = [record.id for page in pages for record in page.records]
    assert len(set(ids)) == 450
    stamps = [(record.updated_at, record.id) for page in pages for record in page.records]
    assert stamps == sorted(stamps)
    query_calls = [path for method, path in sandbox.calls if "/query" in path]
    assert sum("/query/01g" in path for path in query_calls) == 2

    clock.advance(minutes=3)
    first = ids[0]
    sandbox.edit("Contact", first, Email="p0@example.com")
    sandbox.remove("Contact", ids[1])
    clock.advance(minutes=2)
    later = await connector.changes(RecordKind.contact, since=start, cursor=cursor)
    assert not later.has_more
    assert [(r.id, r.deleted) for r in later.records] == [(first, False), (ids[1], True)]
    assert later.records[0].fields["email"] == "p0@example.com"


async def test_expired_locator_resumes_from_the_last_record(
    connector: SalesforceConnector, sandbox: SalesforceSandbox, clock: Clock
) -> None:
    for index in range(300):
        sandbox.add("Account", Name=f"Company {index:03d}")
    first = await connector.changes(RecordKind.company, since=None)
    assert first.has_more
    assert len(first.records) == 200
    sandbox.expire_query_locators()
    rest = await connector.changes(RecordKind.company, since=None, cursor=first.cursor)
    assert not rest.has_more
    assert len(rest.records) == 100
    assert {r.id for r in first.records}.isdisjoint({r.id for r in rest.records})


async def test_changes_without_since_read_everything_and_no_old_deletions(
    connector: SalesforceConnector, sandbox: SalesforceSandbox, clock: Clock
) -> None:
    gone = sandbox.add("Contact", LastName="Old")
    sandbox.remove("Contact", gone)
    kept = sandbox.add("Contact", LastName="Kept")
    clock.advance(minutes=10)
    page = await connector.changes(RecordKind.contact, since=None)
    assert [(r.id, r.deleted) for r in page.records] == [(kept, False)]


async def test_upsert_many_writes_linked_records_at_once(
    connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    items = [
        UpsertItem("company", RecordKind.company, {"name": "Acme"}, "job-9-company"),
        UpsertItem(
            "contact", RecordKind.contact, CONTACT, "job-9-contact", links={"company": "company"}
        ),
        UpsertItem(
            "deal",
            RecordKind.deal,
            {
                "name": "Job 9",
                "stage": "Qualification",
                "close_date": "2026-02-15",
                "amount_minor": 50_000,
                "currency": "USD",
            },
            "job-9-deal",
            links={"company": "company", "contact": "contact"},
        ),
    ]
    company, contact, deal = await connector.upsert_many(items)
    assert contact.fields["company"] == company.id
    assert (deal.fields["company"], deal.fields["contact"]) == (company.id, contact.id)
    assert deal.fields["amount_minor"] == 50_000
    again = await connector.upsert_many(items)
    assert [r.id for r in again] == [company.id, contact.id, deal.id]
    assert [len(sandbox.records[n]) for n in ("Account", "Contact", "Opportunity")] == [1, 1, 1]
    assert sum(path.endswith("/composite") for _, path in sandbox.calls) == 2


async def test_upsert_many_is_all_or_none(
    connector: SalesforceConnector, sandbox: SalesforceSandbox
) -> None:
    items = [
        UpsertItem("company", RecordKind.company, {"name": "Acme"}, "job-10-company"),
        UpsertItem(
            "deal",
            RecordKind.deal,
            {"name": "Job 10", "stage": "No such stage", "close_date": "2026-02-15"},
            "job-10-deal",
            links={"company": "company"},
        ),
    ]
    with pytest.raises(Permanent) as caught:
        await connector.upsert_many(items)
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in caught.value.detail
    assert "composite part deal" in caught.value.detail
    assert sandbox.records["Account"] == {}


async def test_upsert_many_refuses_links_to_later_items(connector: SalesforceConnector) -> None:
    items = [
        UpsertItem("contact", RecordKind.contact, CONTACT, "k-contact", links={"company": "co"}),
        UpsertItem("co", RecordKind.company, {"name": "Acme"}, "k-company"),
    ]
    with pytest.raises(ValueError, match="not written before it"):
        await connector.upsert_many(items)


def test_login_host_is_refused_with_a_way_forward() -> None:
    client = httpx.AsyncClient(base_url=SPEC.base_url)
    with pytest.raises(Permanent, match="My Domain URL"):
        SalesforceConnector(client, SalesforceConfig())


def test_webhooks_are_not_offered(connector: SalesforceConnector) -> None:
    with pytest.raises(NotSupported):
        connector.parse_webhook({}, b"{}", url="https://example.test/hook")
