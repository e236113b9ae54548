"""Connect: Express accounts and their onboarding, transfers, bank accounts and payouts."""

from __future__ import annotations

import json

import httpx
import pytest
import stripe as stripe_sdk

from gigforge.integrations.framework.payments import (
    BankAccountRequest,
    PaymentEventKind,
    PayoutRequest,
    PayoutSpeed,
    PayoutStatus,
)
from gigforge.integrations.stripe import StripeAPIError, StripeConnector
from gigforge.integrations.stripe.sandbox import (
    SANDBOX_CONNECTED_ACCOUNT,
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    StripeSandbox,
    create_sandbox,
)

AUTH = {"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"}
GOOD_IBAN = "DE89370400440532013000"
NO_ACCOUNT_IBAN = "DE62370400440532013001"


@pytest.fixture
def sandbox() -> StripeSandbox:
    """No per-second limit: the paging tests make a hundred payouts in a moment."""
    return create_sandbox(requests_per_second=None)


def bank(iban: str = GOOD_IBAN, reference: str = "bank_1") -> BankAccountRequest:
    return BankAccountRequest(
        holder_name="Ada Lovelace", country="DE", currency="EUR", iban=iban, reference=reference
    )


async def funded_account(stripe: StripeConnector, sandbox: StripeSandbox, iban: str) -> str:
    """An onboarded German account with a bank account and 500.00 EUR moved to it."""
    account_id = sandbox.add_connected_account(email="ada@example.com", country="DE")
    sandbox.available["eur"] = 1_000_000
    await stripe.add_bank_account(account_id, bank(iban))
    await stripe.transfer(
        amount_minor=50_000,
        currency="EUR",
        destination=account_id,
        transfer_group=None,
        reference="tr-fund",
    )
    return account_id


def payout(account_id: str, reference: str, amount: int = 10_000, **extra: object) -> PayoutRequest:
    return PayoutRequest.model_validate(
        {
            "account_id": account_id,
            "amount_minor": amount,
            "currency": "EUR",
            "reference": reference,
        }
        | extra
    )


def delivered(sandbox: StripeSandbox, event_type: str) -> list[dict[str, object]]:
    events = [json.loads(d.body) for d in sandbox.outbox]
    return [event for event in events if event["type"] == event_type]


async def test_an_express_account_is_created_once_and_is_not_yet_onboarded(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account = await stripe.create_account(email="ada@example.com", country="de", reference="u1")
    again = await stripe.create_account(email="ada@example.com", country="de", reference="u1")

    assert account.id.startswith("acct_")
    assert again.id == account.id
    assert (account.country, account.email) == ("DE", "ada@example.com")
    assert not (account.details_submitted)
    assert not (account.charges_enabled)
    assert not (account.payouts_enabled)
    assert account.capabilities == {"card_payments": "inactive", "transfers": "inactive"}
    assert "external_account" in account.requirements_due
    assert account.disabled_reason == "requirements.past_due"
    sent = dict(sandbox.received[-1].params)
    assert sent["type"] == "express"
    assert sent["capabilities[transfers][requested]"] == "true"
    assert sandbox.received[-1].headers["idempotency-key"] == "acct-u1"


async def test_onboarding_through_the_hosted_form_enables_the_account(
    stripe: StripeConnector, sandbox: StripeSandbox, raw: httpx.AsyncClient
) -> None:
    account = await stripe.create_account(email="ada@example.com", country="DE", reference="u2")
    url = await stripe.onboarding_link(
        account.id,
        refresh_url="https://gigforge.test/refresh",
        return_url="https://gigforge.test/done",
    )

    form = await raw.get(url)
    without_bank = await raw.post(url, data={"business_name": "Ada Studio"})
    submitted = await raw.post(
        url, data={"business_name": "Ada Studio", "account_number": "DE89370400440532013000"}
    )
    reused = await raw.get(url)
    onboarded = await stripe.get_account(account.id)

    assert url.startswith("http://sandbox/connect/onboarding/")
    assert "Business name" in form.text
    assert "Complete onboarding" in form.text
    assert without_bank.status_code == 400
    assert "bank account" in without_bank.text
    assert [
        bank["last4"] for bank in sandbox.accounts[account.id]["external_accounts"]["data"]
    ] == ["3000"]
    assert (submitted.status_code, submitted.headers["location"]) == (
        303,
        "https://gigforge.test/done",
    )
    assert (reused.status_code, reused.headers["location"]) == (
        303,
        "https://gigforge.test/refresh",
    )
    assert onboarded.details_submitted
    assert onboarded.charges_enabled
    assert onboarded.payouts_enabled
    assert onboarded.capabilities == {"card_payments": "active", "transfers": "active"}
    assert onboarded.requirements_due == ()
    [updated] = delivered(sandbox, "account.updated")
    assert updated["account"] == account.id
    event = stripe.interpret(
        stripe.parse_webhook(sandbox.outbox[-1].headers, sandbox.outbox[-1].body)
    )
    assert event.kind is PaymentEventKind.account_updated
    assert event.account == account.id
    assert event.account_state is not None
    assert event.account_state.payouts_enabled


async def test_an_expired_onboarding_link_sends_the_user_to_refresh_url(
    stripe: StripeConnector, sandbox: StripeSandbox, raw: httpx.AsyncClient
) -> None:
    account = await stripe.create_account(email="b@example.com", country="US", reference="u3")
    url = await stripe.onboarding_link(
        account.id,
        refresh_url="https://gigforge.test/refresh",
        return_url="https://gigforge.test/done",
    )
    now = sandbox.clock()
    sandbox.clock = lambda: now + 301

    response = await raw.post(url, data={"business_name": "Late"})

    assert (response.status_code, response.headers["location"]) == (
        303,
        "https://gigforge.test/refresh",
    )
    assert not (await stripe.get_account(account.id)).details_submitted


async def test_an_unknown_account_is_stripes_403(stripe: StripeConnector) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.get_account("acct_nobody")

    assert (caught.value.upstream_status, caught.value.stripe_code) == (403, "account_invalid")
    assert "does not have access to account 'acct_nobody'" in caught.value.detail
    assert SANDBOX_SECRET_KEY not in caught.value.detail


async def test_a_transfer_moves_platform_money_to_the_account_once(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    platform_before = sandbox.available["usd"]

    first = await stripe.transfer(
        amount_minor=7_500,
        currency="USD",
        destination=SANDBOX_CONNECTED_ACCOUNT,
        transfer_group="JOB_7",
        reference="tr-job-7",
    )
    again = await stripe.transfer(
        amount_minor=7_500,
        currency="USD",
        destination=SANDBOX_CONNECTED_ACCOUNT,
        transfer_group="JOB_7",
        reference="tr-job-7",
    )

    assert first.id.startswith("tr_")
    assert again.id == first.id
    assert (first.amount_minor, first.currency, first.destination) == (
        7_500,
        "USD",
        SANDBOX_CONNECTED_ACCOUNT,
    )
    assert sandbox.available["usd"] == platform_before - 7_500
    assert sandbox.balances[SANDBOX_CONNECTED_ACCOUNT]["usd"] == 7_500
    assert sandbox.transfers[first.id]["metadata"] == {"gigforge_reference": "tr-job-7"}


async def test_a_bank_account_is_added_by_iban(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    added = await stripe.add_bank_account(SANDBOX_CONNECTED_ACCOUNT, bank())

    assert added.id.startswith("ba_")
    assert (added.last4, added.country, added.currency, added.status) == (
        "3000",
        "DE",
        "EUR",
        "new",
    )
    sent = dict(sandbox.received[-1].params)
    assert sent["external_account[account_number]"] == GOOD_IBAN
    assert sent["external_account[object]"] == "bank_account"
    assert GOOD_IBAN not in json.dumps(sandbox.connect.bank_accounts[added.id])


async def test_a_malformed_iban_is_account_number_invalid(stripe: StripeConnector) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.add_bank_account(SANDBOX_CONNECTED_ACCOUNT, bank("not-an-iban"))

    assert caught.value.stripe_code == "account_number_invalid"


async def test_a_payout_leaves_the_accounts_balance_and_settles_paid(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id = await funded_account(stripe, sandbox, GOOD_IBAN)

    created = await stripe.create_payout(payout(account_id, "po-1"))
    retried = await stripe.create_payout(payout(account_id, "po-1"))
    found = await stripe.find_payout(account_id, "po-1")

    assert created.id.startswith("po_")
    assert retried.id == created.id
    assert created.status is PayoutStatus.pending
    assert found is not None
    assert (found.id, found.status, found.reference) == (created.id, PayoutStatus.paid, "po-1")
    assert sandbox.balances[account_id]["eur"] == 40_000
    request = next(r for r in sandbox.received if r.path == "/v1/payouts" and r.method == "POST")
    assert request.headers["stripe-account"] == account_id
    assert request.headers["idempotency-key"] == "po-1"
    [paid] = delivered(sandbox, "payout.paid")
    assert paid["account"] == account_id
    verified = stripe_sdk.Webhook.construct_event(
        sandbox.outbox[-1].body.decode(),
        sandbox.outbox[-1].headers["Stripe-Signature"],
        SANDBOX_WEBHOOK_SECRET,
    )
    assert (verified.type, verified.account) == ("payout.paid", account_id)


async def test_an_instant_payout_is_sent_with_method_instant(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id = await funded_account(stripe, sandbox, GOOD_IBAN)

    created = await stripe.create_payout(payout(account_id, "po-fast", speed=PayoutSpeed.instant))

    assert ("method", "instant") in sandbox.received[-1].params
    assert sandbox.connect.payouts[created.id]["method"] == "instant"
    assert stripe.payout_speeds == {PayoutSpeed.standard, PayoutSpeed.instant}


async def test_a_payout_over_the_balance_is_balance_insufficient(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id = await funded_account(stripe, sandbox, GOOD_IBAN)

    with pytest.raises(StripeAPIError) as caught:
        await stripe.create_payout(payout(account_id, "po-big", amount=50_001))

    assert caught.value.stripe_code == "balance_insufficient"
    assert sandbox.balances[account_id]["eur"] == 50_000
    assert await stripe.find_payout(account_id, "po-big") is None


async def test_a_payout_to_stripes_failing_test_iban_fails_and_returns_the_money(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id = await funded_account(stripe, sandbox, NO_ACCOUNT_IBAN)

    await stripe.create_payout(payout(account_id, "po-bad"))
    found = await stripe.find_payout(account_id, "po-bad")

    assert found is not None
    assert found.status is PayoutStatus.failed
    assert found.failure_message is not None
    assert "No bank account could be located" in found.failure_message
    assert sandbox.balances[account_id]["eur"] == 50_000
    delivery = sandbox.outbox[-1]
    event = stripe.interpret(stripe.parse_webhook(delivery.headers, delivery.body))
    assert event.kind is PaymentEventKind.payout_failed
    assert (event.account, event.reference, event.amount_minor) == (account_id, "po-bad", 10_000)


async def test_settle_payout_decides_a_pending_payout(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id = await funded_account(stripe, sandbox, GOOD_IBAN)
    sandbox.auto_settle_payouts = False
    created = await stripe.create_payout(payout(account_id, "po-slow"))

    pending = await stripe.find_payout(account_id, "po-slow")
    await sandbox.settle_payout(created.id, ok=False, failure="account_closed")
    failed = await stripe.find_payout(account_id, "po-slow")

    assert pending is not None
    assert pending.status is PayoutStatus.pending
    assert failed is not None
    assert (failed.status, failed.failure_message) == (
        PayoutStatus.failed,
        "The bank account has been closed.",
    )
    with pytest.raises(ValueError, match="already failed"):
        await sandbox.settle_payout(created.id)


async def test_payouts_are_scoped_to_the_stripe_account_they_were_made_on(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id = await funded_account(stripe, sandbox, GOOD_IBAN)
    await stripe.create_payout(payout(account_id, "po-mine"))

    assert await stripe.find_payout(SANDBOX_CONNECTED_ACCOUNT, "po-mine") is None
    with pytest.raises(StripeAPIError) as caught:
        await stripe.find_payout("acct_unknown", "po-mine")
    assert (caught.value.upstream_status, caught.value.stripe_code) == (403, "account_invalid")


async def test_find_payout_and_balance_entries_follow_the_cursor(
    stripe: StripeConnector, sandbox: StripeSandbox, raw: httpx.AsyncClient
) -> None:
    account_id = await funded_account(stripe, sandbox, GOOD_IBAN)
    headers = {**AUTH, "Stripe-Account": account_id}
    for n in range(105):
        response = await raw.post(
            "/v1/payouts",
            headers=headers,
            data={"amount": "100", "currency": "eur", "metadata[gigforge_reference]": f"p{n}"},
        )
        assert response.status_code == 200
    sandbox.received.clear()

    oldest = await stripe.find_payout(account_id, "p0")
    history = [entry async for entry in stripe.balance_entries(account=account_id)]
    platform = [entry async for entry in stripe.balance_entries()]

    assert oldest is not None
    assert oldest.reference == "p0"
    pages = [dict(r.params) for r in sandbox.received if r.path == "/v1/payouts"]
    assert len(pages) == 2
    assert pages[0]["limit"] == "100"
    assert "starting_after" in pages[1]
    assert all(r.headers["stripe-account"] == account_id for r in sandbox.received[:4])
    assert [entry.type for entry in history].count("payout") == 105
    assert history[-1].type == "payment"
    assert history[-1].amount_minor == 50_000
    assert sum(entry.net_minor for entry in history) == sandbox.balances[account_id]["eur"]
    assert {entry.type for entry in platform} >= {"topup", "charge", "transfer"}
    assert "payout" not in {entry.type for entry in platform}
    assert history[0].reference == "p104"
