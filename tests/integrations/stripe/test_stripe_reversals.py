"""Transfer reversals: money taken back from a connected account to the platform."""

from __future__ import annotations

import json

import pytest

from gigforge.integrations.framework.payments import PaymentEventKind, Transfer
from gigforge.integrations.stripe import StripeAPIError, StripeConnector
from gigforge.integrations.stripe.sandbox import StripeSandbox, create_sandbox


@pytest.fixture
def sandbox() -> StripeSandbox:
    return create_sandbox(requests_per_second=None)


async def funded_transfer(
    stripe: StripeConnector, sandbox: StripeSandbox, amount: int = 10_000
) -> tuple[str, Transfer]:
    """A fresh connected account that received `amount` USD from the platform."""
    account_id = sandbox.add_connected_account(email="ada@example.com")
    transfer = await stripe.transfer(
        amount_minor=amount,
        currency="USD",
        destination=account_id,
        transfer_group="JOB_9",
        reference=f"tr-{account_id}",
    )
    return account_id, transfer


def delivered(sandbox: StripeSandbox, event_type: str) -> list[dict[str, object]]:
    events = [json.loads(d.body) for d in sandbox.outbox]
    return [event for event in events if event["type"] == event_type]


async def test_a_full_reversal_moves_the_money_back_and_marks_the_transfer_reversed(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id, transfer = await funded_transfer(stripe, sandbox)
    platform_before = sandbox.available["usd"]

    reversal = await stripe.reverse_transfer(transfer.id, amount_minor=10_000, reference="rv-1")

    assert reversal.id.startswith("trr_")
    assert (reversal.transfer_id, reversal.amount_minor, reversal.currency) == (
        transfer.id,
        10_000,
        "USD",
    )
    assert sandbox.available["usd"] == platform_before + 10_000
    assert sandbox.balances[account_id]["usd"] == 0
    stored = sandbox.transfers[transfer.id]
    assert (stored["amount_reversed"], stored["reversed"]) == (10_000, True)
    assert [item["id"] for item in stored["reversals"]["data"]] == [reversal.id]
    assert stored["reversals"]["total_count"] == 1
    request = sandbox.received[-1]
    assert (request.method, request.path) == ("POST", f"/v1/transfers/{transfer.id}/reversals")
    assert request.headers["idempotency-key"] == "rv-1"
    assert dict(request.params) == {"amount": "10000", "metadata[gigforge_reference]": "rv-1"}


async def test_a_sandbox_reversal_answers_in_stripes_shape(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    _, transfer = await funded_transfer(stripe, sandbox)

    reversal = await stripe.reverse_transfer(transfer.id, amount_minor=2_500, reference="rv-shape")

    raw = sandbox.objects[reversal.id]
    assert raw["object"] == "transfer_reversal"
    assert raw["transfer"] == transfer.id
    assert (raw["amount"], raw["currency"]) == (2_500, "usd")
    assert raw["metadata"] == {"gigforge_reference": "rv-shape"}
    assert sandbox.objects[raw["balance_transaction"]]["type"] == "transfer_refund"
    assert raw["destination_payment_refund"].startswith("pyr_")
    assert raw["source_refund"] is None


async def test_partial_reversals_add_up_until_the_transfer_is_fully_reversed(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id, transfer = await funded_transfer(stripe, sandbox)

    first = await stripe.reverse_transfer(transfer.id, amount_minor=3_000, reference="rv-a")
    after_first = dict(sandbox.transfers[transfer.id])
    second = await stripe.reverse_transfer(transfer.id, amount_minor=7_000, reference="rv-b")

    assert first.id != second.id
    assert (after_first["amount_reversed"], after_first["reversed"]) == (3_000, False)
    stored = sandbox.transfers[transfer.id]
    assert (stored["amount_reversed"], stored["reversed"]) == (10_000, True)
    assert [item["id"] for item in stored["reversals"]["data"]] == [second.id, first.id]
    assert sandbox.balances[account_id]["usd"] == 0


async def test_a_retried_reversal_with_the_same_reference_reverses_once(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id, transfer = await funded_transfer(stripe, sandbox)
    platform_before = sandbox.available["usd"]

    first = await stripe.reverse_transfer(transfer.id, amount_minor=4_000, reference="rv-retry")
    again = await stripe.reverse_transfer(transfer.id, amount_minor=4_000, reference="rv-retry")

    assert again == first
    assert sandbox.available["usd"] == platform_before + 4_000
    assert sandbox.balances[account_id]["usd"] == 6_000
    assert sandbox.transfers[transfer.id]["amount_reversed"] == 4_000
    assert len(delivered(sandbox, "transfer.reversed")) == 1


async def test_reversing_more_than_is_left_is_refused_and_moves_nothing(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id, transfer = await funded_transfer(stripe, sandbox)
    await stripe.reverse_transfer(transfer.id, amount_minor=6_000, reference="rv-part")

    with pytest.raises(StripeAPIError) as caught:
        await stripe.reverse_transfer(transfer.id, amount_minor=4_001, reference="rv-over")

    assert caught.value.upstream_status == 400
    assert (caught.value.stripe_code, caught.value.stripe_param) == ("amount_too_large", "amount")
    assert caught.value.stripe_message == (
        "Reversal amount (4001) is greater than the unreversed amount (4000) on the transfer."
    )
    assert sandbox.transfers[transfer.id]["amount_reversed"] == 6_000
    assert sandbox.balances[account_id]["usd"] == 4_000


async def test_a_fully_reversed_transfer_cannot_be_reversed_again(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    _, transfer = await funded_transfer(stripe, sandbox)
    await stripe.reverse_transfer(transfer.id, amount_minor=10_000, reference="rv-all")

    with pytest.raises(StripeAPIError) as caught:
        await stripe.reverse_transfer(transfer.id, amount_minor=1, reference="rv-more")

    assert caught.value.upstream_status == 400
    assert caught.value.stripe_message == f"The transfer {transfer.id} is already fully reversed."


async def test_an_unknown_transfer_is_stripes_404(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.reverse_transfer("tr_nobody", amount_minor=100, reference="rv-none")

    assert (caught.value.upstream_status, caught.value.stripe_code) == (404, "resource_missing")
    assert caught.value.stripe_message == "No such transfer: 'tr_nobody'"


async def test_a_reversal_beyond_the_accounts_balance_is_balance_insufficient(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id, transfer = await funded_transfer(stripe, sandbox)
    sandbox.balances[account_id]["usd"] = 2_000
    platform_before = sandbox.available["usd"]

    with pytest.raises(StripeAPIError) as caught:
        await stripe.reverse_transfer(transfer.id, amount_minor=2_001, reference="rv-poor")

    assert (caught.value.upstream_status, caught.value.stripe_code) == (
        400,
        "balance_insufficient",
    )
    assert sandbox.available["usd"] == platform_before
    assert sandbox.balances[account_id]["usd"] == 2_000
    assert sandbox.transfers[transfer.id]["amount_reversed"] == 0


async def test_the_balance_history_of_both_sides_shows_the_reversal(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    account_id, transfer = await funded_transfer(stripe, sandbox)

    reversal = await stripe.reverse_transfer(transfer.id, amount_minor=2_500, reference="rv-book")
    platform = [entry async for entry in stripe.balance_entries()]
    account = [entry async for entry in stripe.balance_entries(account=account_id)]

    back = platform[0]
    assert (back.type, back.amount_minor, back.net_minor, back.currency) == (
        "transfer_refund",
        2_500,
        2_500,
        "USD",
    )
    assert back.source == reversal.id
    assert back.reference == "rv-book"
    assert back.extra["reporting_category"] == "transfer_reversal"
    taken = account[0]
    assert (taken.type, taken.amount_minor, taken.net_minor) == ("payment_refund", -2_500, -2_500)
    assert taken.source == sandbox.objects[reversal.id]["destination_payment_refund"]
    assert sum(entry.net_minor for entry in account) == sandbox.balances[account_id]["usd"]
    assert sandbox.balances[account_id]["usd"] == 7_500
    assert sum(entry.net_minor for entry in platform) == sandbox.available["usd"]


async def test_a_reversal_emits_transfer_reversed_which_the_ledger_reads_as_other(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    _, transfer = await funded_transfer(stripe, sandbox)

    await stripe.reverse_transfer(transfer.id, amount_minor=2_500, reference="rv-event")

    [event] = delivered(sandbox, "transfer.reversed")
    data = event["data"]
    assert isinstance(data, dict)
    assert data["object"]["id"] == transfer.id
    assert (data["object"]["amount_reversed"], data["object"]["reversed"]) == (2_500, False)
    assert data["previous_attributes"] == {"amount_reversed": 0, "reversed": False}
    delivery = sandbox.outbox[-1]
    interpreted = stripe.interpret(stripe.parse_webhook(delivery.headers, delivery.body))
    assert interpreted.type == "transfer.reversed"
    assert interpreted.kind is PaymentEventKind.other
    assert (interpreted.object_id, interpreted.amount_minor, interpreted.currency) == (
        transfer.id,
        2_500,
        "USD",
    )
    assert interpreted.status == "partially_reversed"
    assert interpreted.reference == f"tr-{sandbox.transfers[transfer.id]['destination']}"
