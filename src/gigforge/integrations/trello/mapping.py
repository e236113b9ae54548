"""Pure translations between Trello's JSON and the sync engine's records.

A board is a `project` (name, description), a card is a `task` (title, description, status =
the card's list, due, project = the card's board). Trello keeps no idempotency key, so the
reference Gigforge created a record under is written as the last line of its description
(`[gigforge-ref: <key>]`), where a person sees it and Trello keeps it; descriptions are
handed to the engine without that line.

An archived (closed) board or card is reported with `deleted=True`: it has left the board as a
person sees it, and Trello removes it from every open listing. Its fields are kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
)
from gigforge.integrations.framework.records import (
    ChangeAction,
    Container,
    RecordKind,
    RemoteChange,
    RemoteRecord,
    TaskStatus,
)
from gigforge.integrations.trello.spec import SPEC

CARD_FIELDS = "name,desc,due,idList,idBoard,closed,dateLastActivity,url,shortUrl"
BOARD_FIELDS = "name,desc,closed,idOrganization,dateLastActivity,url,shortUrl"
LIST_FIELDS = "name,closed,pos,idBoard"
ORGANIZATION_FIELDS = "name,displayName,url"
ACTION_FIELDS = "type,date,data"

MEMBER_BOARDS = "me"
"""The pseudo-container for boards outside any workspace (the member's own boards)."""
MEMBER_BOARDS_NAME = "Your boards"

# Trello's `due` is a time; a normalized due is a date. Noon UTC keeps the same calendar day
# for a person reading it in any time zone from UTC-11 to UTC+11.
DUE_TIME = "T12:00:00.000Z"

_REFERENCE_LINE = re.compile(r"\n*\[gigforge-ref: ([A-Za-z0-9._:-]{1,100})\]\s*\Z")
_SAFE_REFERENCE = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")

TASK_CREATING_ACTIONS = frozenset(
    {"createCard", "copyCard", "convertToCardFromCheckItem", "emailCard", "moveCardToBoard"}
)
TASK_REMOVING_ACTIONS = frozenset({"deleteCard", "moveCardFromBoard"})


# References


def reference_for(idempotency_key: str) -> str:
    """The reference written on a record: the key itself when it is short and plain, its
    SHA-256 otherwise (still stable across retries)."""
    if _SAFE_REFERENCE.match(idempotency_key):
        return idempotency_key
    return "sha256." + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def split_description(desc: str | None) -> tuple[str, str | None]:
    """A Trello description as (what a person wrote, the Gigforge reference if any)."""
    text = desc or ""
    match = _REFERENCE_LINE.search(text)
    if match is None:
        return text, None
    return text[: match.start()], match.group(1)


def with_reference(text: str | None, reference: str | None) -> str:
    body = (text or "").rstrip()
    if reference is None:
        return body
    line = f"[gigforge-ref: {reference}]"
    return f"{body}\n\n{line}" if body else line


# Times and ids


def parse_time(value: Any) -> datetime | None:
    """Trello's ISO 8601 times (`2026-03-05T09:12:44.123Z`) as aware UTC datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """A time as Trello writes it, in UTC with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def id_time(object_id: str) -> datetime:
    """When a Trello object was created: its id is a MongoDB ObjectId, whose first four bytes
    are the creation time in Unix seconds."""
    try:
        seconds = int(object_id[:8], 16)
    except ValueError:
        seconds = 0
    return datetime.fromtimestamp(seconds, UTC)


def due_to_trello(value: Any) -> str | None:
    if value is None or value == "":
        return None
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return day.isoformat() + DUE_TIME


def due_from_trello(value: Any) -> str | None:
    moment = parse_time(value)
    return moment.date().isoformat() if moment else None


# Records


def to_task(card: Mapping[str, Any]) -> RemoteRecord:
    card_id = str(card["id"])
    description, _ = split_description(card.get("desc"))
    fields: dict[str, Any] = {
        "title": card.get("name") or "",
        "description": description,
        "status": card.get("idList"),
        "due": due_from_trello(card.get("due")),
        "project": card.get("idBoard"),
    }
    return RemoteRecord(
        kind=RecordKind.task,
        id=card_id,
        fields={key: value for key, value in fields.items() if value is not None},
        updated_at=parse_time(card.get("dateLastActivity")) or id_time(card_id),
        deleted=bool(card.get("closed")),
        url=card.get("url") or card.get("shortUrl"),
    )


def to_project(board: Mapping[str, Any]) -> RemoteRecord:
    board_id = str(board["id"])
    description, _ = split_description(board.get("desc"))
    return RemoteRecord(
        kind=RecordKind.project,
        id=board_id,
        fields={"name": board.get("name") or "", "description": description},
        updated_at=parse_time(board.get("dateLastActivity")) or id_time(board_id),
        deleted=bool(board.get("closed")),
        url=board.get("url") or board.get("shortUrl"),
    )


def reference_of(raw: Mapping[str, Any]) -> str | None:
    return split_description(raw.get("desc"))[1]


def to_deleted_task(action: Mapping[str, Any], board_id: str) -> RemoteRecord | None:
    """A `deleteCard` action as the record of a card that is gone."""
    card = as_mapping(as_mapping(action.get("data")).get("card"))
    when = parse_time(action.get("date"))
    if not card.get("id") or when is None:
        return None
    return RemoteRecord(
        kind=RecordKind.task,
        id=str(card["id"]),
        fields={"project": board_id},
        updated_at=when,
        deleted=True,
    )


def to_status(raw: Mapping[str, Any], done_lists: tuple[str, ...]) -> TaskStatus:
    name = str(raw.get("name") or "")
    done = {item.strip().casefold() for item in done_lists}
    return TaskStatus(id=str(raw["id"]), name=name, done=name.strip().casefold() in done)


def to_container(organization: Mapping[str, Any]) -> Container:
    name = organization.get("displayName") or organization.get("name") or organization["id"]
    return Container(id=str(organization["id"]), name=str(name))


def member_boards() -> Container:
    return Container(id=MEMBER_BOARDS, name=MEMBER_BOARDS_NAME)


# Request bodies


def board_body(
    fields: Mapping[str, Any], *, reference: str | None, container: str | None
) -> dict[str, Any]:
    """`POST /boards`: Trello's default lists (To Do, Doing, Done) are kept, so a new board
    has a list that reads as finished."""
    name = str(fields.get("name") or "").strip()
    if not name:
        raise refused("a board needs a name")
    body: dict[str, Any] = {
        "name": name,
        "desc": with_reference(fields.get("description"), reference),
        "defaultLists": True,
    }
    if container and container != MEMBER_BOARDS:
        body["idOrganization"] = container
    return body


def board_update(fields: Mapping[str, Any], *, current_desc: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "name" in fields:
        body["name"] = str(fields["name"] or "").strip()
        if not body["name"]:
            raise refused("a board needs a name")
    if "description" in fields:
        body["desc"] = with_reference(fields["description"], split_description(current_desc)[1])
    return body


def card_body(fields: Mapping[str, Any], *, reference: str | None, list_id: str) -> dict[str, Any]:
    """`POST /cards`: new cards go to the bottom of their list, as a person adds them."""
    body: dict[str, Any] = {
        "idList": list_id,
        "name": str(fields.get("title") or "").strip(),
        "desc": with_reference(fields.get("description"), reference),
        "pos": "bottom",
    }
    if not body["name"]:
        raise refused("a card needs a title")
    if fields.get("due"):
        body["due"] = due_to_trello(fields["due"])
    return body


def card_update(
    fields: Mapping[str, Any], *, current_desc: str | None, list_id: str | None
) -> dict[str, Any]:
    """`PUT /cards/{id}` with only what changed; `due: None` clears the due date."""
    body: dict[str, Any] = {}
    if "title" in fields:
        body["name"] = str(fields["title"] or "").strip()
        if not body["name"]:
            raise refused("a card needs a title")
    if "description" in fields:
        body["desc"] = with_reference(fields["description"], split_description(current_desc)[1])
    if "due" in fields:
        body["due"] = due_to_trello(fields["due"])
    if fields.get("project"):
        body["idBoard"] = str(fields["project"])
    if list_id is not None:
        body["idList"] = list_id
    return body


# Webhook actions


def to_change(action: Mapping[str, Any]) -> RemoteChange | None:
    """The change a webhook's action announces, or None for actions that touch no field the
    engine keeps (comments, labels, members...)."""
    kind_of = str(action.get("type") or "")
    data = as_mapping(action.get("data"))
    when = parse_time(action.get("date"))
    if when is None:
        return None
    event_id = str(action["id"]) if action.get("id") else None
    board = as_mapping(data.get("board"))
    card = as_mapping(data.get("card"))
    if card.get("id"):
        action_kind = _card_action(kind_of, data)
        if action_kind is None:
            return None
        return RemoteChange(
            kind=RecordKind.task,
            id=str(card["id"]),
            action=action_kind,
            occurred_at=when,
            event_id=event_id,
            fields=_card_fields(card, data),
            parent_id=str(board["id"]) if board.get("id") else None,
        )
    if kind_of == "updateBoard" and board.get("id"):
        old = as_mapping(data.get("old"))
        archived = board.get("closed") is True and old.get("closed") is False
        fields: dict[str, Any] = {}
        if "name" in board:
            fields["name"] = board["name"]
        if "desc" in board:
            fields["description"] = split_description(board["desc"])[0]
        return RemoteChange(
            kind=RecordKind.project,
            id=str(board["id"]),
            action=ChangeAction.deleted if archived else ChangeAction.updated,
            occurred_at=when,
            event_id=event_id,
            fields=fields,
        )
    return None


def _card_action(kind: str, data: Mapping[str, Any]) -> ChangeAction | None:
    if kind in TASK_CREATING_ACTIONS:
        return ChangeAction.created
    if kind in TASK_REMOVING_ACTIONS:
        return ChangeAction.deleted
    if kind == "updateCard":
        old = as_mapping(data.get("old"))
        card = as_mapping(data.get("card"))
        if card.get("closed") is True and old.get("closed") is False:
            return ChangeAction.deleted
        return ChangeAction.updated
    return None


def _card_fields(card: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in card:
        fields["title"] = card["name"]
    if "desc" in card:
        fields["description"] = split_description(card["desc"])[0]
    if "due" in card:
        fields["due"] = due_from_trello(card["due"])
    list_id = card.get("idList") or as_mapping(data.get("listAfter")).get("id")
    if not list_id and data.get("list"):
        list_id = as_mapping(data.get("list")).get("id")
    if list_id:
        fields["status"] = str(list_id)
    return fields


# Errors


def error_message(body: str | None) -> str | None:
    """Trello answers errors in plain text (`invalid token`), a few in JSON (429's
    `{"error": ..., "message": ...}`, 449's `originalMessage`)."""
    if not body:
        return None
    text = body.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:300] or None
    if isinstance(parsed, Mapping):
        message = parsed.get("message") or parsed.get("originalMessage") or parsed.get("error")
        code = parsed.get("error")
        if message and code and code != message:
            return f"{message} ({code})"
        return str(message) if message else None
    return text[:300] or None


def error_from(exc: IntegrationError) -> IntegrationError:
    """The same framework error, its detail now carrying Trello's own words."""
    message = error_message(exc.extensions.get("body"))
    if message is None:
        return exc
    detail = f"{SPEC.title}: {message}"
    status = exc.upstream_status
    extras = {"body": exc.extensions.get("body"), "trello_message": message}
    if isinstance(exc, AuthExpired):
        return AuthExpired(detail, integration=SPEC.slug, status=status, **extras)
    if isinstance(exc, RateLimited):
        return RateLimited(
            detail, integration=SPEC.slug, retry_after=exc.retry_after, status=status, **extras
        )
    if isinstance(exc, Permanent):
        return Permanent(detail, integration=SPEC.slug, status=status, **extras)
    return exc


def refused(why: str) -> Permanent:
    return Permanent(f"{SPEC.title}: {why}", integration=SPEC.slug)


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
