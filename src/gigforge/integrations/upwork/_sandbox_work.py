"""The sandbox's offers and message rooms: their slice of Upwork's schema, seed data and
resolvers, kept apart from job search so each file stays readable.

Seeded for the sandbox freelancer's organization: a pending fixed-price offer on the newest
seeded posting, an accepted hourly offer and a declined one, plus an offer to another
organization that a `VendorOrg` search must never return. Two rooms carry a client's
message, the freelancer's reply and a system notice without a user. A test plays the client
with `set_offer_state` and `client_says`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

READ_OFFERS = "Offers - Read-Only Access"
READ_MESSAGES = "Messaging - Read-Only Access"
SEARCH_ATTRIBUTES = frozenset({"VendorOrg", "ClientOrg", "JobPosting", "Application"})
SORT_ORDERS = frozenset({"ASC", "DESC"})

SCHEMA: dict[str, dict[str, str | None]] = {
    "OfferList": {"offers": "Offer"},
    "Offer": {
        **dict.fromkeys(("id", "title", "description", "type", "state", "messageToContractor")),
        "client": "OfferClient",
        "job": "OfferJob",
        "vendorProposal": "VendorProposal",
        "offerTerms": "OfferTerms",
    },
    "OfferClient": dict.fromkeys(("id", "name")),
    "OfferJob": dict.fromkeys(("id", "title")),
    "OfferTerms": {
        **dict.fromkeys(("expectedStartDate", "expectedEndDate")),
        "fixedPriceTerm": "FixedPriceTerm",
        "hourlyTerms": "HourlyTerms",
    },
    "FixedPriceTerm": {"budget": "Money"},
    "HourlyTerms": {"rate": "Money", "weeklyHoursLimit": None},
    "VendorProposal": {"id": None, "marketplaceJobPosting": "MarketplaceJobPosting"},
    "MarketplaceJobPosting": {"id": None},
    "RoomConnection": {"totalCount": None, "edges": "RoomEdge", "pageInfo": "PageInfo"},
    "RoomEdge": {"cursor": None, "node": "Room"},
    "Room": {
        **dict.fromkeys(("id", "roomName", "topic", "roomType", "contractId", "numUnread")),
        "vendorProposal": "VendorProposal",
        "latestStory": "RoomStory",
        "stories": "RoomStoryConnection",
    },
    "RoomStoryConnection": {"edges": "RoomStoryEdge", "pageInfo": "PageInfo"},
    "RoomStoryEdge": {"cursor": None, "node": "RoomStory"},
    "RoomStory": {**dict.fromkeys(("id", "message", "createdDateTime")), "user": "User"},
}
ROOTS: dict[str, str] = {
    "offersByAttribute": "OfferList",
    "roomList": "RoomConnection",
    "room": "Room",
}
ROOT_SCOPES = {"offersByAttribute": READ_OFFERS, "roomList": READ_MESSAGES, "room": READ_MESSAGES}


class WorkError(ValueError):
    """An argument Upwork would refuse; the sandbox answers it as a GraphQL error."""


def seed_offers(organization_id: str, job_ids: list[str]) -> list[dict[str, Any]]:
    def offer(number: int, state: str, job: str, terms: dict[str, Any], org: str) -> dict[str, Any]:
        return {
            "id": f"5031{number:08d}",
            "title": f"Contract for job {job[-4:]}",
            "description": "Scope as discussed in the proposal.",
            "type": "FIXED_PRICE" if "fixedPriceTerm" in terms else "HOURLY",
            "state": state,
            "messageToContractor": "Looking forward to working with you.",
            "client": {"id": f"client-{number}", "name": f"Client {number} Ltd"},
            "job": {"id": job, "title": None},
            "vendorProposal": {"id": f"1700{number:08d}", "marketplaceJobPosting": {"id": job}},
            "offerTerms": {"expectedStartDate": "2026-12-07", "expectedEndDate": None, **terms},
            "_organization": org,
        }

    fixed = {"fixedPriceTerm": {"budget": _money("1200.00")}, "hourlyTerms": None}
    hourly = {
        "fixedPriceTerm": None,
        "hourlyTerms": {"rate": _money("55.00"), "weeklyHoursLimit": 20},
    }
    small = {"fixedPriceTerm": {"budget": _money("300.00")}, "hourlyTerms": None}
    return [
        offer(1, "Pending", job_ids[0], fixed, organization_id),
        offer(2, "Accepted", job_ids[1], hourly, organization_id),
        offer(3, "Declined", job_ids[2], small, organization_id),
        offer(4, "Pending", job_ids[3], fixed, "9999999999999999999"),
    ]


def seed_rooms(now: float, user: dict[str, Any], job_ids: list[str]) -> list[dict[str, Any]]:
    client = {"id": "1700000000000000001", "nid": "clientone", "rid": "1", "name": "Client 1"}

    def story(
        number: int, minutes_ago: int, text: str, sender: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "id": f"story-{number}",
            "message": text,
            "createdDateTime": _iso(now - minutes_ago * 60),
            "user": sender,
        }

    def room(number: int, job: str, stories: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": f"room_{number:04d}",
            "roomName": f"Client {number} Ltd, {user['name']}",
            "topic": f"Proposal for job {job[-4:]}",
            "roomType": "INTERVIEW",
            "contractId": None,
            "numUnread": 1,
            "vendorProposal": {"id": f"1700{number:08d}", "marketplaceJobPosting": {"id": job}},
            "_stories": stories,
        }

    return [
        room(
            1,
            job_ids[0],
            [
                story(1, 90, "Thanks for the proposal. Can you start on Monday?", client),
                story(2, 60, "Yes, Monday works. I will send a plan first.", user),
                story(3, 30, "Client 1 Ltd sent you an offer.", None),
            ],
        ),
        room(2, job_ids[1], [story(4, 600, "Welcome aboard!", client)]),
    ]


def offers_by_attribute(offers: list[dict[str, Any]], arguments: dict[str, Any]) -> dict[str, Any]:
    search = arguments.get("filter") or {}
    if search.get("searchAttribute") not in SEARCH_ATTRIBUTES or not search.get("id"):
        raise WorkError("SearchOffersInput needs an id and a known searchAttribute")
    limit, page = int(search.get("limit") or 10), int(search.get("page") or 1)
    if limit < 1 or page < 1:
        raise WorkError("SearchOffersInput limit and page start at 1")
    mine = [
        o
        for o in offers
        if search["searchAttribute"] != "VendorOrg" or o["_organization"] == search["id"]
    ]
    return {"offers": mine[(page - 1) * limit : page * limit]}


def room_list(rooms: list[dict[str, Any]], arguments: dict[str, Any]) -> dict[str, Any]:
    if (arguments.get("sortOrder") or "DESC") not in SORT_ORDERS:
        raise WorkError("sortOrder must be ASC or DESC")
    ordered = sorted(
        (_with_latest(room) for room in rooms),
        key=lambda room: room["latestStory"]["createdDateTime"] if room["latestStory"] else "",
        reverse=(arguments.get("sortOrder") or "DESC") == "DESC",
    )
    return _connection(ordered, arguments.get("pagination") or {}, allow_after_first=True)


def room(rooms: list[dict[str, Any]], room_id: Any, stories_arguments: dict[str, Any]) -> Any:
    found = next((r for r in rooms if r["id"] == room_id), None)
    if found is None:
        return None
    story_filter = stories_arguments.get("filter") or {}
    stories = _connection(
        found["_stories"], story_filter.get("pagination") or {}, allow_after_first=False
    )
    stories.pop("totalCount")
    return {**_with_latest(found), "stories": stories}


def _with_latest(room: dict[str, Any]) -> dict[str, Any]:
    stories = room["_stories"]
    return {**room, "latestStory": stories[-1] if stories else None}


def _connection(
    items: list[dict[str, Any]], pagination: dict[str, Any], *, allow_after_first: bool
) -> dict[str, Any]:
    after = pagination.get("after")
    if after == "" and not allow_after_first:
        raise WorkError("pagination.after must be left out on the first page")
    start = int(after) if after else 0
    first = int(pagination.get("first") or 10)
    page = items[start : start + first]
    edges = [{"cursor": str(start + i + 1), "node": node} for i, node in enumerate(page)]
    return {
        "totalCount": len(items),
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + len(page) < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _money(raw: str) -> dict[str, str]:
    return {"rawValue": raw, "currency": "USD", "displayValue": f"${raw}"}


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
