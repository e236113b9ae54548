"""The connector's contract, driven against the HubSpot sandbox through the policy layer."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from hubspot_helpers import Clock, ClockSleep, ConnectorFactory, token_credentials

from gigforge.integrations.framework import CRM, AuthExpired, Permanent, RateLimited, Transient
from gigforge.integrations.framework.records import RecordKind
from gigforge.integrations.hubspot import HubSpotConnector
from gigforge.integrations.hubspot.sandbox import PORTAL_ID, HubSpotSandbox, WebhookDelivery
from gigforge.integrations.hubspot.spec import REF_PROPERTY, SOURCE_PROPERTY
from sandbox_support import SandboxTokens


class SmallPages(HubSpotConnector):
    page_size = 2


class CappedSearch(HubSpotConnector):
    """A search that pages no further than its 4th result, as HubSpot's stops at 10,000."""

    page_size = 2
    result_cap = 4


class DropFirstCreate(httpx.AsyncBaseTransport):
    """The first create reaches HubSpot, then the connection drops before the answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.dropped = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/contacts") and not self.dropped:
            self.dropped += 1
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


CONTACT = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}


def test_the_connector_is_a_crm() -> None:
    assert issubclass(HubSpotConnector, CRM)


async def test_test_call_returns_the_account(connector: HubSpotConnector) -> None:
    assert await connector.test() == {
        "portal_id": PORTAL_ID,
        "currency": "USD",
        "time_zone": "Europe/Berlin",
        "ui_domain": "app.hubspot.com",
    }


async def test_creating_a_contact_stores_our_reference_and_attribution(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    record = await connector.upsert(
        RecordKind.contact,
        {**CONTACT, "source": "upwork"},
        external_id=None,
        idempotency_key="sync-contact-0001",
    )

    assert record.kind is RecordKind.contact
    assert dict(record.fields) == {**CONTACT, "source": "upwork"}
    assert record.url == f"https://app.hubspot.com/contacts/{PORTAL_ID}/record/0-1/{record.id}"
    stored = sandbox.record("contact", record.id)["properties"]
    assert stored[REF_PROPERTY] == "sync-contact-0001"
    assert stored[SOURCE_PROPERTY] == "upwork"
    assert stored["firstname"] == "Ada"


async def test_a_create_retried_with_the_same_key_returns_the_first_record(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    first = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="sync-contact-0002"
    )
    again = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="sync-contact-0002"
    )

    assert again.id == first.id
    assert len(sandbox.records("contact")) == 1


async def test_a_create_whose_answer_was_lost_is_found_by_reference_on_retry(
    sandbox: HubSpotSandbox, make_connector: ConnectorFactory
) -> None:
    dropping = DropFirstCreate(httpx.ASGITransport(app=sandbox.app))
    connector = make_connector(token_credentials(), inner=dropping)

    with pytest.raises(Transient):
        await connector.upsert(
            RecordKind.contact, CONTACT, external_id=None, idempotency_key="sync-contact-0003"
        )
    assert len(sandbox.records("contact")) == 1  # it did reach HubSpot
    retried = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="sync-contact-0003"
    )

    assert dropping.dropped == 1
    assert [r["id"] for r in sandbox.records("contact")] == [retried.id]
    assert retried.fields["email"] == "ada@example.com"


async def test_an_update_changes_only_the_given_fields(
    connector: HubSpotConnector, sandbox: HubSpotSandbox, clock: Clock
) -> None:
    created = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="sync-contact-0004"
    )
    clock.now += 60

    updated = await connector.upsert(
        RecordKind.contact,
        {"phone": "+44 20 7946 0000", "last_name": None},
        external_id=created.id,
        idempotency_key="sync-contact-0004-u1",
    )

    assert updated.id == created.id
    assert dict(updated.fields) == {
        "first_name": "Ada",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
    }
    assert updated.updated_at > created.updated_at
    assert "lastname" not in sandbox.record("contact", created.id)["properties"]


async def test_a_contact_is_associated_with_its_company(connector: HubSpotConnector) -> None:
    company = await connector.upsert(
        RecordKind.company,
        {"name": "Analytical Engines Ltd", "domain": "engines.example"},
        external_id=None,
        idempotency_key="sync-company-0001",
    )

    contact = await connector.upsert(
        RecordKind.contact,
        {**CONTACT, "company": company.id},
        external_id=None,
        idempotency_key="sync-contact-0005",
    )

    assert dict(company.fields) == {"name": "Analytical Engines Ltd", "domain": "engines.example"}
    assert company.url == f"https://app.hubspot.com/contacts/{PORTAL_ID}/record/0-2/{company.id}"
    assert contact.fields["company"] == company.id


async def test_a_deal_round_trips_amount_currency_stage_dates_and_associations(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    contact = await connector.upsert(
        RecordKind.contact, CONTACT, external_id=None, idempotency_key="sync-contact-0006"
    )
    company = await connector.upsert(
        RecordKind.company, {"name": "Engines"}, external_id=None, idempotency_key="sync-co-02"
    )

    deal = await connector.upsert(
        RecordKind.deal,
        {
            "name": "Booking backend",
            "amount_minor": 150_050,
            "currency": "EUR",
            "pipeline": "default",
            "stage": "contractsent",
            "close_date": "2026-02-28",
            "contact": contact.id,
            "company": company.id,
        },
        external_id=None,
        idempotency_key="sync-deal-0001",
    )

    stored = sandbox.record("deal", deal.id)["properties"]
    assert stored["amount"] == "1500.50"
    assert stored["deal_currency_code"] == "EUR"
    assert dict(deal.fields) == {
        "name": "Booking backend",
        "amount_minor": 150_050,
        "currency": "EUR",
        "pipeline": "default",
        "stage": "contractsent",
        "close_date": "2026-02-28",
        "contact": contact.id,
        "company": company.id,
    }


async def test_a_deal_without_a_currency_is_in_the_accounts_currency(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    deal = await connector.upsert(
        RecordKind.deal,
        {"name": "Audit", "amount_minor": 99_900, "pipeline": "default"},
        external_id=None,
        idempotency_key="sync-deal-0002",
    )

    assert sandbox.record("deal", deal.id)["properties"]["amount"] == "999.00"
    assert deal.fields["amount_minor"] == 99_900
    assert deal.fields["currency"] == "USD"


async def test_a_zero_decimal_currency_is_converted_exactly(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    deal = await connector.upsert(
        RecordKind.deal,
        {"name": "Tokyo", "amount_minor": 120_000, "currency": "JPY", "pipeline": "default"},
        external_id=None,
        idempotency_key="sync-deal-0003",
    )

    assert sandbox.record("deal", deal.id)["properties"]["amount"] == "120000"
    assert deal.fields["amount_minor"] == 120_000


async def test_get_answers_none_for_a_record_hubspot_no_longer_has(
    connector: HubSpotConnector,
) -> None:
    assert await connector.get(RecordKind.company, "987654321") is None


async def test_delete_archives_and_a_second_delete_is_harmless(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    company = await connector.upsert(
        RecordKind.company, {"name": "Gone"}, external_id=None, idempotency_key="sync-co-0003"
    )

    await connector.delete(RecordKind.company, company.id)
    await connector.delete(RecordKind.company, company.id)

    assert sandbox.record("company", company.id)["archived"] is True
    assert await connector.get(RecordKind.company, company.id) is None


async def test_updating_a_missing_record_carries_hubspots_message(
    connector: HubSpotConnector,
) -> None:
    with pytest.raises(Permanent) as caught:
        await connector.upsert(
            RecordKind.contact, {"phone": "1"}, external_id="404404", idempotency_key="k-404404"
        )

    assert caught.value.upstream_status == 404
    assert "Object not found" in caught.value.detail
    assert caught.value.extensions["category"] == "OBJECT_NOT_FOUND"


async def test_an_unknown_deal_stage_is_refused_with_hubspots_message(
    connector: HubSpotConnector,
) -> None:
    with pytest.raises(Permanent) as caught:
        await connector.upsert(
            RecordKind.deal,
            {"name": "X", "pipeline": "default", "stage": "nonsense"},
            external_id=None,
            idempotency_key="sync-deal-0004",
        )

    assert caught.value.upstream_status == 400
    assert "nonsense is not a valid deal stage" in caught.value.detail
    assert caught.value.extensions["category"] == "VALIDATION_ERROR"


async def test_a_field_hubspot_cannot_hold_is_refused_before_any_call(
    connector: HubSpotConnector, sandbox: HubSpotSandbox
) -> None:
    with pytest.raises(Permanent, match="a HubSpot company has no 'email' field"):
        await connector.upsert(
            RecordKind.company, {"email": "x@y"}, external_id=None, idempotency_key="k-0000001"
        )
    with pytest.raises(Permanent, match="not tasks"):
        await connector.get(RecordKind.task, "1")
    assert sandbox.calls == []


async def test_changes_reads_pages_oldest_first_and_resumes_from_the_cursor(
    sandbox: HubSpotSandbox, make_connector: ConnectorFactory, clock: Clock
) -> None:
    connector = make_connector(token_credentials(), connector_class=SmallPages)
    ids = []
    for n in range(5):
        clock.now += 10
        ids.append(await sandbox.add("contact", firstname=f"C{n}", email=f"c{n}@example.com"))

    pages = [await connector.changes(RecordKind.contact, since=None)]
    while pages[-1].has_more:
        pages.append(
            await connector.changes(RecordKind.contact, since=None, cursor=pages[-1].cursor)
        )

    assert [len(page.records) for page in pages] == [2, 2, 1]
    assert [r.id for page in pages for r in page.records] == ids
    times = [r.updated_at for page in pages for r in page.records]
    assert times == sorted(times)


async def test_changes_restart_from_the_last_time_when_the_search_cap_is_near(
    sandbox: HubSpotSandbox, make_connector: ConnectorFactory, clock: Clock
) -> None:
    connector = make_connector(token_credentials(), connector_class=CappedSearch)
    ids = []
    for n in range(7):
        clock.now += 10
        ids.append(await sandbox.add("deal", dealname=f"D{n}", pipeline="default"))

    seen: list[str] = []
    page = await connector.changes(RecordKind.deal, since=None)
    seen += [r.id for r in page.records]
    while page.has_more:
        page = await connector.changes(RecordKind.deal, since=None, cursor=page.cursor)
        seen += [r.id for r in page.records]

    # The restart (after the 4th result) reads the 4th record once more.
    assert list(dict.fromkeys(seen)) == ids
    assert seen == [*ids[:4], ids[3], *ids[4:]]


async def test_changes_since_a_time_leaves_out_older_records_and_sees_edits(
    connector: HubSpotConnector, sandbox: HubSpotSandbox, clock: Clock
) -> None:
    old = await sandbox.add("company", name="Old Co")
    clock.now += 100
    since = datetime.fromtimestamp(clock.now, tz=UTC)
    clock.now += 1
    new = await sandbox.add("company", name="New Co")
    clock.now += 1
    await sandbox.edit("company", old, name="Old Co (renamed)")

    page = await connector.changes(RecordKind.company, since=since)

    assert [(r.id, r.fields["name"]) for r in page.records] == [
        (new, "New Co"),
        (old, "Old Co (renamed)"),
    ]
    assert page.has_more is False
    follow = await connector.changes(RecordKind.company, since=None, cursor=page.cursor)
    assert [r.id for r in follow.records] == [old]  # the same millisecond is read again


async def test_pipelines_mark_closed_and_won_stages(connector: HubSpotConnector) -> None:
    pipelines = await connector.pipelines()

    assert [p.id for p in pipelines] == ["default", "75e28846-ad0d-4be2-a027-5e1da6590b98"]
    stages = {s.id: (s.closed, s.won) for s in pipelines[0].stages}
    assert stages["closedwon"] == (True, True)
    assert stages["closedlost"] == (True, False)
    assert stages["contractsent"] == (False, False)
    assert [s.label for s in pipelines[1].stages] == [
        "Proposal sent",
        "Delivered and paid",
        "Declined",
    ]


async def test_a_refused_token_raises_auth_expired_with_hubspots_message(
    make_connector: ConnectorFactory,
) -> None:
    connector = make_connector(token_credentials("pat-na1-wrong"))

    with pytest.raises(AuthExpired) as caught:
        await connector.test()

    assert caught.value.upstream_status == 401
    assert "Authentication credentials not found" in caught.value.detail
    assert "pat-na1-wrong" not in f"{caught.value.detail} {caught.value.extensions}"


async def test_a_429_from_the_ten_second_window_waits_and_then_succeeds(
    make_connector: ConnectorFactory, sandbox: HubSpotSandbox, sleep: ClockSleep
) -> None:
    sandbox.window_limit = 1
    connector = make_connector(token_credentials())
    await connector.test()

    pipelines = await connector.pipelines()

    assert pipelines
    assert 10.0 in sleep.delays  # the wait HubSpot's TEN_SECONDLY_ROLLING policy implies


async def test_a_429_with_retry_after_is_retried(
    connector: HubSpotConnector, sandbox: HubSpotSandbox, sleep: ClockSleep
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 2

    assert (await connector.test())["portal_id"] == PORTAL_ID
    assert sleep.delays[:2] == [2.0, 2.0]


async def test_search_over_its_own_limit_waits_a_second(
    connector: HubSpotConnector, sandbox: HubSpotSandbox, sleep: ClockSleep
) -> None:
    sandbox.search_per_second = 1
    await sandbox.add("contact", firstname="Only")

    await connector.changes(RecordKind.contact, since=None)
    page = await connector.changes(RecordKind.contact, since=None)

    assert len(page.records) == 1
    assert 1.0 in sleep.delays


async def test_a_window_that_stays_spent_gives_up_with_hubspots_message(
    connector: HubSpotConnector, sandbox: HubSpotSandbox, sleep: ClockSleep
) -> None:
    sandbox.window_limit = 0

    with pytest.raises(RateLimited) as caught:
        await connector.test()

    assert caught.value.retry_after == 10.0
    assert caught.value.upstream_status == 429
    assert "ten_secondly_rolling limit" in caught.value.detail
    assert sleep.delays == [10.0] * 5


async def test_an_oauth_token_is_refreshed_once_it_expires(
    oauth_connector: HubSpotConnector, sandbox: HubSpotSandbox, tokens: SandboxTokens
) -> None:
    sandbox.oauth.expire_access_tokens()

    assert (await oauth_connector.test())["portal_id"] == PORTAL_ID
    assert tokens.refreshes == 1
    assert sandbox.oauth.refresh_count == 1


async def test_a_token_without_the_deals_scope_is_refused_with_the_scope_named(
    make_connector: ConnectorFactory, sandbox: HubSpotSandbox
) -> None:
    issued = sandbox.oauth.issue("crm.objects.contacts.read crm.objects.contacts.write")
    connector = make_connector(token_credentials(str(issued["access_token"])))

    with pytest.raises(Permanent) as caught:
        await connector.pipelines()

    assert caught.value.upstream_status == 403
    assert caught.value.extensions["category"] == "MISSING_SCOPES"
    assert "granted all required scopes" in caught.value.detail


async def test_edits_in_hubspot_arrive_as_verified_webhook_changes(
    connector: HubSpotConnector, sandbox: HubSpotSandbox, clock: Clock
) -> None:
    clock.now = time.time()  # HubSpot signs with the time it sends; the check uses ours
    received = []

    async def target(delivery: WebhookDelivery) -> None:
        received.append(connector.parse_webhook(delivery.headers, delivery.body, url=delivery.url))

    sandbox.webhook_target = target
    created = await connector.upsert(
        RecordKind.deal,
        {"name": "Site", "pipeline": "default"},
        external_id=None,
        idempotency_key="sync-deal-0005",
    )
    await sandbox.edit("deal", created.id, dealstage="closedwon")
    await sandbox.archive("deal", created.id)

    changes = [change for receipt in received for change in receipt.changes]
    assert [(c.kind, c.id, c.action.value) for c in changes] == [
        (RecordKind.deal, created.id, "created"),
        (RecordKind.deal, created.id, "updated"),
        (RecordKind.deal, created.id, "deleted"),
    ]
    assert dict(changes[1].fields) == {"dealstage": "closedwon"}
    assert len({c.event_id for c in changes}) == 3
