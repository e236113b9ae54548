"""Offers and message rooms: the GraphQL documents and the pure translations of their answers.

Offers are read with `offersByAttribute(filter: SearchOffersInput!)`, searching by the
freelancer's own organization (`searchAttribute: "VendorOrg"`, paged with `limit` and
`page`), and answer `{offers: [Offer]}` with `state`, `client`, `job`, `vendorProposal` and
`offerTerms` (a fixed-price `budget` or an hourly `rate`, both `Money`). Rooms are read with
`roomList(filter, pagination: {first, after}, sortOrder)` and a room's messages ("stories")
with `room(id) { stories(filter: {pagination}) }`. The names follow Upwork's GraphQL reference
(https://www.upwork.com/developer/documentation/graphql/api/docs/index.html) as public
clients of the API use them; Upwork documents no mutation that lets a freelancer's app
accept an offer, and this connection's key is read-only, so both are hand-offs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gigforge.integrations.framework.capabilities import (
    Award,
    AwardStatus,
    ClientMessage,
    MessageThread,
)
from gigforge.integrations.upwork.mapping import money, parse_datetime, to_minor
from gigforge.integrations.upwork.spec import SPEC

OFFERS_PAGE_SIZE = 50
ROOMS_PAGE_SIZE = 50
STORIES_PAGE_SIZE = 100
OFFER_URL = "https://www.upwork.com/nx/wm/offer/{offer_id}"

ORGANIZATION = """
query Organization {
  organization {
    id
  }
}
"""

OFFERS = """
query OffersByAttribute($filter: SearchOffersInput!) {
  offersByAttribute(filter: $filter) {
    offers {
      id
      title
      type
      state
      client { id name }
      job { id }
      vendorProposal { id }
      offerTerms {
        expectedStartDate
        fixedPriceTerm { budget { rawValue currency } }
        hourlyTerms { rate { rawValue currency } }
      }
    }
  }
}
"""

ROOMS = """
query RoomList($pagination: Pagination) {
  roomList(filter: { subscribed_eq: true }, pagination: $pagination, sortOrder: DESC) {
    totalCount
    edges {
      cursor
      node {
        id
        roomName
        topic
        roomType
        contractId
        vendorProposal { id marketplaceJobPosting { id } }
        latestStory { id createdDateTime }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

STORIES = """
query RoomStories($roomId: ID!, $storyFilter: RoomStoryFilter) {
  room(id: $roomId) {
    id
    stories(filter: $storyFilter) {
      edges {
        cursor
        node {
          id
          message
          createdDateTime
          user { id name }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# Upwork's offer states, read case-insensitively; a state not listed here is skipped and
# logged rather than guessed.
OFFER_STATES: dict[str, AwardStatus] = {
    "pending": "awarded",
    "sent": "awarded",
    "new": "awarded",
    "accepted": "accepted",
    "active": "accepted",
    "declined": "rejected",
    "rejected": "rejected",
    "withdrawn": "revoked",
    "expired": "canceled",
    "cancelled": "canceled",
    "canceled": "canceled",
}


def offers_filter(organization_id: str, page: int) -> dict[str, Any]:
    return {
        "id": organization_id,
        "searchAttribute": "VendorOrg",
        "limit": OFFERS_PAGE_SIZE,
        "page": page,
    }


def to_award(offer: Mapping[str, Any]) -> Award | None:
    """One offer as an award; None for a state this mapping does not know. The amount is the
    fixed price; an hourly offer states a rate, not an amount, and leaves it in `raw`."""
    status = OFFER_STATES.get(str(offer.get("state") or "").lower())
    if status is None or not offer.get("id"):
        return None
    terms = offer.get("offerTerms") or {}
    budget = (terms.get("fixedPriceTerm") or {}).get("budget")
    amount, currency = money(budget)
    client = offer.get("client") or {}
    job = offer.get("job") or {}
    return Award(
        platform=SPEC.slug,
        external_bid_id=str(offer["id"]),
        external_project_id=str(job.get("id") or ""),
        status=status,
        amount_minor=to_minor(amount, currency) if amount is not None else None,
        currency=currency if amount is not None else None,
        awarded_at=None,
        client_name=str(client["name"]) if client.get("name") else None,
        client_id=str(client["id"]) if client.get("id") else None,
        title=str(offer["title"]) if offer.get("title") else None,
        url=OFFER_URL.format(offer_id=offer["id"]),
        raw=dict(offer),
    )


def states_cursor(states: Mapping[str, str]) -> str:
    """The status last reported for each offer, as `offer=status` pairs."""
    return ";".join(f"{offer}={status}" for offer, status in sorted(states.items()))


def read_states_cursor(cursor: str | None) -> dict[str, str]:
    states: dict[str, str] = {}
    for pair in (cursor or "").split(";"):
        offer, _, status = pair.partition("=")
        if offer and status:
            states[offer] = status
    return states


def to_thread(node: Mapping[str, Any]) -> MessageThread:
    proposal = node.get("vendorProposal") or {}
    posting = proposal.get("marketplaceJobPosting") or {}
    latest = node.get("latestStory") or {}
    return MessageThread(
        platform=SPEC.slug,
        thread_id=str(node["id"]),
        external_project_id=str(posting["id"]) if posting.get("id") else None,
        title=str(node.get("roomName") or node.get("topic") or "") or None,
        updated_at=story_time(latest.get("createdDateTime")),
        raw=dict(node),
    )


def to_message(node: Mapping[str, Any], *, room_id: str, me: str) -> ClientMessage:
    """A story as a message. System notices carry no user and count as not the client's."""
    user = node.get("user") or {}
    sender = str(user["id"]) if user.get("id") else None
    return ClientMessage(
        thread_id=room_id,
        message_id=str(node["id"]),
        from_client=sender is not None and sender != me,
        sender_id=sender,
        text=str(node.get("message") or ""),
        sent_at=story_time(node.get("createdDateTime")),
        raw=dict(node),
    )


def story_time(value: Any) -> datetime | None:
    """Stories stamp times as ISO 8601 or as epoch milliseconds, depending on the field."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    return parse_datetime(value)
