"""Pure translations for what follows a bid on Freelancer.com: awards and message threads.

A bid's `award_status` is one of `awarded`, `pending`, `rejected`, `revoked` or `canceled`
(null while the client has not decided). Freelancer's reference lists these values without
defining them, so Gigforge reads them this way: an `awarded` bid the freelancer has not yet
accepted (no `time_accepted`, `frontend_bid_status` still `active`) is an offer waiting for
the user; once `time_accepted` is set or the bid is `in_progress`/`complete` the work is
`accepted`; the other values are kept as Freelancer states them.

Threads come from `GET /messages/0.1/threads/` (each `{"id", "thread": {"context":
{"type", "id"}, "members", "owner", ...}, "time_updated", "message_count"}`), messages from
`GET /messages/0.1/messages/` (`{"id", "thread_id", "from_user", "message", "time_created",
"attachments": [{"filename", ...}]}`), as the official SDK reads them
(https://github.com/freelancer/freelancer-sdk-python, `resources/messages`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gigforge.integrations.framework.capabilities import (
    Award,
    AwardStatus,
    ClientMessage,
    MessageThread,
    OutgoingMessage,
)
from gigforge.integrations.freelancer.mapping import _minor, _unix, as_mapping, project_url
from gigforge.integrations.freelancer.spec import SPEC

# The award statuses a bid can carry; `awards` asks for all of them.
AWARD_STATUSES = ("awarded", "pending", "rejected", "revoked", "canceled")
ACCEPTABLE: frozenset[AwardStatus] = frozenset({"awarded", "pending"})
_STARTED = frozenset({"in_progress", "complete"})


def award_status(bid: Mapping[str, Any]) -> AwardStatus | None:
    status = str(bid.get("award_status") or "").lower()
    if status == "awarded":
        started = str(bid.get("frontend_bid_status") or "").lower() in _STARTED
        return "accepted" if bid.get("time_accepted") or started else "awarded"
    if status == "pending":
        return "pending"
    if status == "rejected":
        return "rejected"
    if status == "revoked":
        return "revoked"
    if status == "canceled":
        return "canceled"
    return None


def keyed(value: Any) -> dict[str, Mapping[str, Any]]:
    """A `projects` or `users` projection keyed by id as a string, however Freelancer sent it
    (an object keyed by id, or a list of objects)."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items() if isinstance(item, Mapping)}
    if isinstance(value, list):
        return {
            str(item["id"]): item for item in value if isinstance(item, Mapping) and "id" in item
        }
    return {}


def to_award(
    bid: Mapping[str, Any],
    *,
    projects: Mapping[str, Mapping[str, Any]],
    users: Mapping[str, Mapping[str, Any]],
) -> Award | None:
    """The award on one bid, or None for a bid the client has not answered."""
    status = award_status(bid)
    if status is None:
        return None
    project_id = str(bid.get("project_id") or "")
    project = projects.get(project_id) or {}
    currency = str(as_mapping(project.get("currency")).get("code") or "").upper() or None
    owner_id = bid.get("project_owner_id") or project.get("owner_id")
    owner = users.get(str(owner_id)) or {}
    client_name = owner.get("display_name") or owner.get("username")
    return Award(
        platform=SPEC.slug,
        external_bid_id=str(bid["id"]),
        external_project_id=project_id,
        status=status,
        amount_minor=_minor(bid.get("amount"), currency) if currency else None,
        currency=currency if currency and len(currency) == 3 else None,
        awarded_at=_unix(bid.get("time_awarded")),
        client_name=str(client_name) if client_name else None,
        client_id=str(owner_id) if owner_id is not None else None,
        title=str(project["title"]) if project.get("title") else None,
        url=project_url(project) if project.get("id") else None,
        raw=bid,
    )


def awards_cursor(states: Mapping[str, str]) -> str:
    """The statuses last reported, as `bid=status` pairs: compact, readable, and enough to
    tell a transition from a repeat without Freelancer stating when a status changed."""
    return ";".join(f"{bid}={status}" for bid, status in sorted(states.items()))


def read_awards_cursor(cursor: str | None) -> dict[str, str]:
    states: dict[str, str] = {}
    for pair in (cursor or "").split(";"):
        bid, _, status = pair.partition("=")
        if bid.isdigit() and status:
            states[bid] = status
    return states


def to_thread(
    raw: Mapping[str, Any], *, me: int, users: Mapping[str, Mapping[str, Any]]
) -> MessageThread:
    thread = as_mapping(raw.get("thread"))
    context = as_mapping(thread.get("context"))
    project_id = context.get("id") if context.get("type") == "project" else None
    members = [m for m in thread.get("members") or () if isinstance(m, int) and m != me]
    client_id = members[0] if members else None
    client = users.get(str(client_id)) or {}
    client_name = client.get("display_name") or client.get("username")
    count = raw.get("message_count")
    return MessageThread(
        platform=SPEC.slug,
        thread_id=str(raw["id"]),
        external_project_id=str(project_id) if project_id is not None else None,
        client_id=str(client_id) if client_id is not None else None,
        client_name=str(client_name) if client_name else None,
        title=str(context["title"]) if context.get("title") else None,
        updated_at=_unix(raw.get("time_updated") or thread.get("time_created")),
        message_count=count if isinstance(count, int) else None,
        raw=raw,
    )


def to_message(raw: Mapping[str, Any], *, me: int) -> ClientMessage:
    sender = raw.get("from_user")
    return ClientMessage(
        thread_id=str(raw.get("thread_id")),
        message_id=str(raw["id"]),
        from_client=sender != me,
        sender_id=str(sender) if sender is not None else None,
        text=str(raw.get("message") or ""),
        sent_at=_unix(raw.get("time_created")),
        attachments=attachment_names(raw.get("attachments")),
        raw=raw,
    )


def attachment_names(attachments: Any) -> tuple[str, ...]:
    if not isinstance(attachments, list):
        return ()
    return tuple(
        str(item["filename"])
        for item in attachments
        if isinstance(item, Mapping) and item.get("filename")
    )


def already_sent(
    messages: Iterable[ClientMessage], outgoing: OutgoingMessage
) -> ClientMessage | None:
    """The user's own message that carries this text and these files, if it is already in
    the thread: Freelancer takes no idempotency key, so the thread is the only record."""
    wanted_files = sorted(attachment.name for attachment in outgoing.attachments)
    for message in messages:
        if (
            not message.from_client
            and message.text.strip() == outgoing.text.strip()
            and sorted(message.attachments) == wanted_files
        ):
            return message
    return None
