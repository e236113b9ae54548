"""Awards, accepting one, and client messages, driven against the Freelancer sandbox through
the policy layer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from gigforge.integrations.framework import (
    HeaderCredentials,
    Permanent,
    ProposalSubmission,
    static_secret,
)
from gigforge.integrations.framework.capabilities import (
    Attachment,
    ClientMessaging,
    OutgoingMessage,
    Winning,
)
from gigforge.integrations.freelancer import SPEC, FreelancerConnector
from gigforge.integrations.freelancer._seed import SANDBOX_USER_ID
from gigforge.integrations.freelancer.sandbox import FreelancerSandbox
from gigforge.integrations.freelancer.winning import awards_cursor, read_awards_cursor

WITHIN_BUDGET = "40100001"  # USD, fixed 750-1500
ABOVE_BUDGET = "40100006"  # USD, fixed 1500-3000


async def bid(connector: FreelancerConnector, project: str, amount_minor: int) -> str:
    result = await connector.submit_proposal(
        ProposalSubmission(
            external_job_id=project,
            cover_letter="Plan, milestones and a demo within a week.",
            amount_minor=amount_minor,
            currency="USD",
            period_days=10,
            idempotency_key=f"proposal-{project}",
        )
    )
    return result.external_id


def test_the_connector_offers_winning_and_client_messaging() -> None:
    assert issubclass(FreelancerConnector, Winning)
    assert issubclass(FreelancerConnector, ClientMessaging)


async def test_a_bid_within_the_budget_is_awarded_on_the_next_listing(
    connector: FreelancerConnector,
) -> None:
    won = await bid(connector, WITHIN_BUDGET, 120_000)
    await bid(connector, ABOVE_BUDGET, 400_000)

    awards, cursor = await connector.awards()

    [award] = awards
    assert award.external_bid_id == won
    assert award.external_project_id == WITHIN_BUDGET
    assert award.status == "awarded"
    assert (award.amount_minor, award.currency) == (120_000, "USD")
    assert award.awarded_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert award.client_name == "Northwind Ops"
    assert award.client_id == "72001"
    assert award.title == "Build a FastAPI backend for a booking app"
    assert award.url is not None
    assert award.url.startswith("https://www.freelancer.com/projects/")
    assert cursor == f"{won}=awarded"


async def test_awards_after_the_cursor_report_only_status_changes(
    connector: FreelancerConnector, sandbox: FreelancerSandbox
) -> None:
    won = await bid(connector, WITHIN_BUDGET, 120_000)
    _, cursor = await connector.awards()

    assert await connector.awards(cursor) == ([], cursor)

    sandbox.revoke(int(won))
    [revoked], later = await connector.awards(cursor)
    assert revoked.status == "revoked"
    assert read_awards_cursor(later) == {won: "revoked"}


async def test_no_awards_keeps_the_cursor(connector: FreelancerConnector) -> None:
    assert await connector.awards() == ([], None)
    assert await connector.awards("1=awarded") == ([], "1=awarded")


def test_the_cursor_round_trips_and_ignores_garbage() -> None:
    states = {"500000002": "accepted", "500000001": "awarded"}

    assert awards_cursor(states) == "500000001=awarded;500000002=accepted"
    assert read_awards_cursor(awards_cursor(states)) == states
    assert read_awards_cursor("x=1;;500000003=;7=revoked") == {"7": "revoked"}


async def test_accepting_an_award_flips_it_to_accepted_once(
    connector: FreelancerConnector, sandbox: FreelancerSandbox
) -> None:
    won = await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()

    accepted = await connector.accept_award(won)
    again = await connector.accept_award(won)

    assert accepted.status == again.status == "accepted"
    assert sandbox.bids[int(won)]["frontend_bid_status"] == "in_progress"
    puts = [call for call in sandbox.calls if call[0] == "PUT"]
    assert len(puts) == 1
    [change], _ = await connector.awards(f"{won}=awarded")
    assert change.status == "accepted"


async def test_accepting_a_revoked_award_is_a_clear_permanent_error(
    connector: FreelancerConnector, sandbox: FreelancerSandbox
) -> None:
    won = await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()
    sandbox.revoke(int(won))

    with pytest.raises(Permanent, match=f"bid {won} cannot be accepted: its award is revoked"):
        await connector.accept_award(won)
    assert not [call for call in sandbox.calls if call[0] == "PUT"]


async def test_accepting_a_bid_without_an_award_or_someone_elses_is_refused(
    connector: FreelancerConnector,
) -> None:
    unanswered = await bid(connector, ABOVE_BUDGET, 400_000)

    with pytest.raises(Permanent, match="has not been awarded"):
        await connector.accept_award(unanswered)
    with pytest.raises(Permanent, match="not one of this user's bids"):
        await connector.accept_award("999")
    with pytest.raises(Permanent, match="not a Freelancer bid id"):
        await connector.accept_award("abc")


async def test_the_sandbox_refuses_to_accept_a_revoked_bid_with_freelancers_envelope(
    connector: FreelancerConnector, sandbox: FreelancerSandbox
) -> None:
    won = await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()
    sandbox.revoke(int(won))

    with pytest.raises(Permanent) as refused:
        await connector.client.put(f"/projects/0.1/bids/{won}/", params={"action": "accept"})

    assert refused.value.upstream_status == 409


async def test_an_award_opens_a_thread_with_the_clients_message(
    connector: FreelancerConnector,
) -> None:
    await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()

    [thread] = await connector.threads()
    [message] = await connector.messages(thread.thread_id)

    assert thread.external_project_id == WITHIN_BUDGET
    assert (thread.client_id, thread.client_name) == ("72001", "Northwind Ops")
    assert thread.message_count == 1
    assert message.from_client
    assert message.sender_id == "72001"
    assert "I have awarded you" in message.text
    assert await connector.threads(external_project_id=ABOVE_BUDGET) == []


async def test_messages_since_a_time_leave_out_older_ones(
    connector: FreelancerConnector, sandbox: FreelancerSandbox, clock: Any
) -> None:
    await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()
    [thread] = await connector.threads()
    clock.now += 60
    sandbox.client_says(int(thread.thread_id), "Any update?")

    later = await connector.messages(
        thread.thread_id, since=datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC)
    )

    assert [m.text for m in later] == ["Any update?"]


async def test_sending_a_message_with_attachments_stores_them_exactly_once(
    connector: FreelancerConnector, sandbox: FreelancerSandbox
) -> None:
    await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()
    delivery = OutgoingMessage(
        external_project_id=WITHIN_BUDGET,
        text="Delivery for job 7f3a: the backend and its tests are attached.",
        attachments=(
            Attachment(name="backend.zip", media_type="application/zip", content=b"PK\x03\x04"),
            Attachment(name="README.md", media_type="text/markdown", content=b"# Booking API"),
        ),
        idempotency_key="delivery-7f3a",
    )

    sent = await connector.send_message(delivery)
    again = await connector.send_message(delivery)

    assert sent.status == "sent"
    assert (again.status, again.message_id) == ("already_sent", sent.message_id)
    stored = sandbox.messages[int(sent.message_id)]
    assert stored["from_user"] == SANDBOX_USER_ID
    assert [a["filename"] for a in stored["attachments"]] == ["backend.zip", "README.md"]
    assert stored["_contents"] == [b"PK\x03\x04", b"# Booking API"]
    posts = [c for c in sandbox.calls if c[0] == "POST" and c[1].endswith("/messages/")]
    assert len(posts) == 1
    mine = [m for m in await connector.messages(sent.thread_id) if not m.from_client]
    assert [m.attachments for m in mine] == [("backend.zip", "README.md")]


async def test_a_text_message_goes_to_the_given_thread(connector: FreelancerConnector) -> None:
    await bid(connector, WITHIN_BUDGET, 120_000)
    await connector.awards()
    [thread] = await connector.threads()

    sent = await connector.send_message(
        OutgoingMessage(
            thread_id=thread.thread_id,
            text="Accepted, starting today.",
            idempotency_key="message-0001",
        )
    )

    [_, reply] = await connector.messages(thread.thread_id)
    assert (reply.message_id, reply.text, reply.from_client) == (
        sent.message_id,
        "Accepted, starting today.",
        False,
    )


async def test_a_message_for_a_project_without_a_thread_is_refused(
    connector: FreelancerConnector,
) -> None:
    with pytest.raises(Permanent, match="no message thread for project 40100006"):
        await connector.send_message(
            OutgoingMessage(
                external_project_id=ABOVE_BUDGET, text="Hello", idempotency_key="message-0002"
            )
        )
    with pytest.raises(Permanent, match="needs a thread id or a project id"):
        await connector.send_message(OutgoingMessage(text="Hello", idempotency_key="message-0003"))


async def test_a_thread_that_is_not_the_users_is_a_permanent_error(
    connector: FreelancerConnector,
) -> None:
    with pytest.raises(Permanent) as refused:
        await connector.send_message(
            OutgoingMessage(thread_id="123", text="Hello", idempotency_key="message-0004")
        )
    assert refused.value.extensions["error_code"] == "MessagesExceptionCodes.THREAD_NOT_FOUND"


async def test_a_token_without_the_messaging_scope_is_refused_clearly(
    sandbox: FreelancerSandbox, make_connector: Any
) -> None:
    token = str(sandbox.oauth.issue("basic fln:project_manage")["access_token"])
    bidding_only = make_connector(
        HeaderCredentials(static_secret(token), header="Freelancer-OAuth-V1", scheme="")
    )

    with pytest.raises(Permanent, match="fln:messaging"):
        await bidding_only.threads()


async def test_connecting_asks_for_bidding_and_messaging_and_the_sandbox_grants_both(
    sandbox: FreelancerSandbox,
) -> None:
    assert SPEC.oauth is not None
    params = {
        "response_type": "code",
        "client_id": sandbox.oauth.client_id,
        "redirect_uri": "https://gigforge.example/callback",
        "scope": "basic",
        **SPEC.oauth.authorize_params,
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app), base_url="http://sandbox"
    ) as http:
        authorize = await http.get("/oauth/authorize", params=params)
        code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
        issued = (
            await http.post(
                "/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": params["redirect_uri"],
                    "client_id": sandbox.oauth.client_id,
                    "client_secret": sandbox.oauth.client_secret,
                },
            )
        ).json()

    assert issued["scope"] == "basic fln:project_manage fln:messaging"
