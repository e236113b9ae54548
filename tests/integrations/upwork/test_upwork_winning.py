"""Offers and message rooms, read from the Upwork sandbox through the policy layer; accepting
and sending are hand-offs."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from upwork_helpers import Connect

from gigforge.integrations.framework import AuthExpired, NotSupported, Permanent
from gigforge.integrations.framework.capabilities import (
    ClientMessaging,
    OutgoingMessage,
    Winning,
)
from gigforge.integrations.upwork import UpworkConfig, UpworkConnector
from gigforge.integrations.upwork._sandbox_work import READ_MESSAGES, READ_OFFERS
from gigforge.integrations.upwork.sandbox import UpworkSandbox
from gigforge.integrations.upwork.winning import read_states_cursor, story_time

NEWEST_POSTING = "1780000000000000001"


def test_the_connector_offers_winning_and_client_messaging() -> None:
    assert issubclass(UpworkConnector, Winning)
    assert issubclass(UpworkConnector, ClientMessaging)


async def test_offers_of_the_users_organization_become_awards(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    awards, cursor = await connect().awards()

    assert [(a.external_bid_id, a.status) for a in awards] == [
        ("503100000001", "awarded"),
        ("503100000002", "accepted"),
        ("503100000003", "rejected"),
    ]
    pending = awards[0]
    assert pending.external_project_id == NEWEST_POSTING
    assert (pending.amount_minor, pending.currency) == (120_000, "USD")
    assert (pending.client_id, pending.client_name) == ("client-1", "Client 1 Ltd")
    assert pending.url == "https://www.upwork.com/nx/wm/offer/503100000001"
    hourly = awards[1]
    assert (hourly.amount_minor, hourly.currency) == (None, None)
    assert hourly.raw["offerTerms"]["hourlyTerms"]["rate"]["rawValue"] == "55.00"
    filters = [call["body"]["variables"].get("filter") for call in sandbox.calls]
    assert {"id": sandbox.organization["id"], "searchAttribute": "VendorOrg"}.items() <= (
        filters[-1].items()
    )
    assert read_states_cursor(cursor) == {
        "503100000001": "awarded",
        "503100000002": "accepted",
        "503100000003": "rejected",
    }


async def test_the_cursor_reports_only_offers_whose_state_changed(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    connector = connect()
    _, cursor = await connector.awards()
    assert await connector.awards(cursor) == ([], cursor)

    sandbox.set_offer_state("503100000001", "Accepted")
    [accepted], _ = await connector.awards(cursor)

    assert (accepted.external_bid_id, accepted.status) == ("503100000001", "accepted")


async def test_the_tenant_header_organization_is_searched_without_asking(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    settings = UpworkConfig(
        client_id="sandbox-client-id",
        client_secret=SecretStr("sandbox-client-secret"),
        tenant_id="9999999999999999999",
    )

    [other], _ = await connect(settings=settings).awards()

    assert other.external_bid_id == "503100000004"
    assert all("organization" not in call["body"]["query"] for call in sandbox.calls)


async def test_accepting_an_offer_is_a_hand_off(connect: Connect) -> None:
    with pytest.raises(NotSupported, match=r"accepts it on upwork\.com"):
        await connect().accept_award("503100000001")


async def test_rooms_are_threads_newest_first_linked_to_their_job_posting(
    connect: Connect,
) -> None:
    threads = await connect().threads()

    assert [t.thread_id for t in threads] == ["room_0001", "room_0002"]
    assert threads[0].external_project_id == NEWEST_POSTING
    assert threads[0].title == "Client 1 Ltd, Sam Sandbox"
    only = await connect().threads(external_project_id=NEWEST_POSTING)
    assert [t.thread_id for t in only] == ["room_0001"]


async def test_stories_are_messages_with_the_sender_told_apart(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    messages = await connect().messages("room_0001")

    assert [(m.text, m.from_client) for m in messages] == [
        ("Thanks for the proposal. Can you start on Monday?", True),
        ("Yes, Monday works. I will send a plan first.", False),
        ("Client 1 Ltd sent you an offer.", False),
    ]
    assert messages[2].sender_id is None
    stories = [c for c in sandbox.calls if "RoomStories" in c["body"]["query"]]
    assert stories[0]["body"]["variables"]["storyFilter"] == {"pagination": {"first": 100}}


async def test_messages_since_a_time_and_new_client_messages(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    connector = connect()
    before = await connector.messages("room_0001")
    sandbox.client_says("room_0001", "Great, see you Monday.")

    newer = await connector.messages("room_0001", since=before[-1].sent_at)

    assert [(m.text, m.from_client) for m in newer] == [("Great, see you Monday.", True)]


async def test_an_unknown_room_is_a_permanent_error(connect: Connect) -> None:
    with pytest.raises(Permanent, match="room_9999 was not found"):
        await connect().messages("room_9999")


async def test_sending_a_message_is_a_hand_off(connect: Connect) -> None:
    with pytest.raises(NotSupported, match="pastes the approved message"):
        await connect().send_message(
            OutgoingMessage(thread_id="room_0001", text="Hello", idempotency_key="message-0001")
        )


async def test_a_key_without_the_offers_permission_must_be_reconnected(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    sandbox.permissions.discard(READ_OFFERS)

    with pytest.raises(AuthExpired, match="permissions/scopes"):
        await connect().awards()


async def test_a_key_without_the_messaging_permission_must_be_reconnected(
    connect: Connect, sandbox: UpworkSandbox
) -> None:
    sandbox.permissions.discard(READ_MESSAGES)

    with pytest.raises(AuthExpired, match="permissions/scopes"):
        await connect().threads()


def test_story_times_read_iso_and_epoch_milliseconds() -> None:
    iso = story_time("2026-12-03T10:00:00.000Z")

    assert iso is not None
    assert story_time(1_796_292_000_000) == iso
    assert story_time("1796292000000") == iso
    assert story_time(None) is None
