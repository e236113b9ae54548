"""Trello as a project tool: boards are projects, lists are statuses, cards are tasks.

Idempotent creates: Trello takes no idempotency key and has no external-id field, so a record
Gigforge creates carries its reference as the last line of its description (see `mapping`).
Before creating, the connector looks for that reference where the record would be: among the
member's boards (`GET /members/me/boards`) for a project, among all of the board's cards,
archived ones included (`GET /boards/{id}/cards/all`), for a task. Trello's search
(`/search`) is not used for this: its index lags behind new cards, which is exactly when a
retry comes.

Changes: Trello has no "modified since" query, so `changes` reads the board's cards (open and
archived) and keeps those whose `dateLastActivity` is at or after `since`, plus the board's
`deleteCard` actions since then (paged with `before`, newest first, as Trello serves them).
They are sorted oldest first and handed out a page at a time; the cursor is the time and id of
the last record handed out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import ProjectTool
from gigforge.integrations.framework.errors import IntegrationError, Permanent
from gigforge.integrations.framework.records import (
    ChangePage,
    Container,
    RecordKind,
    RemoteRecord,
    Subscription,
    TaskStatus,
    WebhookReceipt,
)
from gigforge.integrations.trello.mapping import (
    ACTION_FIELDS,
    BOARD_FIELDS,
    CARD_FIELDS,
    LIST_FIELDS,
    ORGANIZATION_FIELDS,
    as_mapping,
    board_body,
    board_update,
    card_body,
    card_update,
    error_from,
    format_time,
    member_boards,
    parse_time,
    reference_for,
    reference_of,
    refused,
    to_container,
    to_deleted_task,
    to_project,
    to_status,
    to_task,
)
from gigforge.integrations.trello.spec import KEY_PARAM, SPEC, TrelloConfig
from gigforge.integrations.trello.webhooks import read_delivery

WEBHOOK_DESCRIPTION = "Gigforge sync"


class TrelloConnector(ProjectTool):
    spec = SPEC
    config: TrelloConfig
    page_size: ClassVar[int] = 100
    # Trello's most actions in one answer.
    actions_page_size: ClassVar[int] = 1000

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, TrelloConfig):
            raise TypeError(f"{SPEC.title} needs a TrelloConfig, not {type(config)!r}")
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        member = as_mapping(await self._call("GET", "/members/me", fields="username,fullName"))
        return {"member_id": member.get("id"), "username": member.get("username")}

    async def containers(self) -> list[Container]:
        organizations = await self._call(
            "GET", "/members/me/organizations", fields=ORGANIZATION_FIELDS
        )
        return [member_boards(), *(to_container(org) for org in _items(organizations))]

    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        container: str | None = None,
        idempotency_key: str,
    ) -> RemoteRecord:
        if kind is RecordKind.project:
            if external_id is None:
                return await self._create_board(fields, container, reference_for(idempotency_key))
            return await self._update_board(external_id, fields)
        if kind is RecordKind.task:
            if external_id is None:
                return await self._create_card(fields, reference_for(idempotency_key))
            return await self._update_card(external_id, fields)
        raise self._no_kind(kind)

    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None:
        path, fields, to_record = self._record_path(kind, external_id)
        try:
            raw = await self._call("GET", path, fields=fields)
        except Permanent as exc:
            if exc.upstream_status == 404:
                return None
            raise
        return to_record(as_mapping(raw))

    async def delete(self, kind: RecordKind, external_id: str) -> None:
        """Deletes for good (Trello's archive is what a person does by hand); a record that is
        already gone counts as deleted."""
        path, _, _ = self._record_path(kind, external_id)
        try:
            await self._call("DELETE", path)
        except Permanent as exc:
            if exc.upstream_status != 404:
                raise

    async def statuses(self, project_id: str) -> list[TaskStatus]:
        lists = await self._call(
            "GET", f"/boards/{_id(project_id)}/lists", filter="open", fields=LIST_FIELDS
        )
        return [to_status(raw, self.config.done_lists) for raw in _items(lists)]

    async def changes(
        self, project_id: str, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        board = _id(project_id)
        after = _read_cursor(cursor)
        cards = await self._call("GET", f"/boards/{board}/cards/all", fields=CARD_FIELDS)
        records = [to_task(card) for card in _items(cards)]
        records.extend(await self._deleted_cards(board, since))
        if since is not None:
            records = [record for record in records if record.updated_at >= since]
        records.sort(key=_order)
        if after is not None:
            records = [record for record in records if _order(record) > after]
        page = records[: self.page_size]
        has_more = len(records) > len(page)
        return ChangePage(
            records=page,
            cursor=_write_cursor(page[-1]) if page else cursor,
            has_more=has_more,
        )

    async def subscribe(self, project_id: str, *, callback_url: str) -> Subscription:
        """`POST /webhooks` on the board. Trello first sends a HEAD request to `callback_url`
        and refuses the webhook unless it answers 200."""
        created = as_mapping(
            await self._call(
                "POST",
                "/webhooks",
                json={
                    "callbackURL": callback_url,
                    "idModel": _id(project_id),
                    "description": WEBHOOK_DESCRIPTION,
                },
            )
        )
        return Subscription(id=str(created["id"]), callback_url=callback_url)

    async def unsubscribe(self, subscription_id: str) -> None:
        try:
            await self._call("DELETE", f"/webhooks/{_id(subscription_id)}")
        except Permanent as exc:
            if exc.upstream_status != 404:
                raise

    def parse_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        secret: str | None = None,
    ) -> WebhookReceipt:
        """Trello signs with the app's secret, the same for every webhook: `secret` when the
        caller passes it, else the connection's `app_secret`. `url` must be the callback URL
        exactly as it was registered."""
        key = secret
        if key is None and self.config.app_secret is not None:
            key = self.config.app_secret.get_secret_value()
        if not key:
            raise refused("webhooks cannot be verified without the app secret")
        return read_delivery(headers, body, secret=key, callback_url=url)

    # Boards

    async def _create_board(
        self, fields: Mapping[str, Any], container: str | None, reference: str
    ) -> RemoteRecord:
        existing = await self._board_with(reference)
        if existing is not None:
            return to_project(existing)
        body = board_body(fields, reference=reference, container=container)
        return to_project(as_mapping(await self._call("POST", "/boards", json=body)))

    async def _board_with(self, reference: str) -> Mapping[str, Any] | None:
        boards = await self._call("GET", "/members/me/boards", filter="all", fields=BOARD_FIELDS)
        return next((b for b in _items(boards) if reference_of(b) == reference), None)

    async def _update_board(self, board_id: str, fields: Mapping[str, Any]) -> RemoteRecord:
        current_desc: str | None = None
        if "description" in fields:
            current = as_mapping(await self._call("GET", f"/boards/{_id(board_id)}", fields="desc"))
            current_desc = current.get("desc")
        body = board_update(fields, current_desc=current_desc)
        if not body:
            return await self._require(RecordKind.project, board_id)
        updated = await self._call("PUT", f"/boards/{_id(board_id)}", json=body)
        return to_project(as_mapping(updated))

    # Cards

    async def _create_card(self, fields: Mapping[str, Any], reference: str) -> RemoteRecord:
        board = fields.get("project")
        if not board:
            raise refused("a task needs the board it goes on (`project`)")
        cards = await self._call("GET", f"/boards/{_id(str(board))}/cards/all", fields=CARD_FIELDS)
        existing = next((c for c in _items(cards) if reference_of(c) == reference), None)
        if existing is not None:
            return to_task(existing)
        list_id = fields.get("status") or await self._first_list(str(board))
        body = card_body(fields, reference=reference, list_id=str(list_id))
        return to_task(as_mapping(await self._call("POST", "/cards", json=body)))

    async def _update_card(self, card_id: str, fields: Mapping[str, Any]) -> RemoteRecord:
        current_desc: str | None = None
        if "description" in fields:
            current = as_mapping(await self._call("GET", f"/cards/{_id(card_id)}", fields="desc"))
            current_desc = current.get("desc")
        list_id = fields.get("status")
        if list_id is None and fields.get("project"):
            # Trello moves a card to another board only into one of that board's lists.
            list_id = await self._first_list(str(fields["project"]))
        body = card_update(
            fields, current_desc=current_desc, list_id=str(list_id) if list_id else None
        )
        if not body:
            return await self._require(RecordKind.task, card_id)
        updated = await self._call("PUT", f"/cards/{_id(card_id)}", json=body)
        return to_task(as_mapping(updated))

    async def _first_list(self, board_id: str) -> str:
        lists = _items(
            await self._call("GET", f"/boards/{_id(board_id)}/lists", filter="open", fields="name")
        )
        if not lists:
            raise refused(f"board {board_id} has no open list to put the card in")
        return str(lists[0]["id"])

    async def _deleted_cards(self, board_id: str, since: datetime | None) -> list[RemoteRecord]:
        """The board's `deleteCard` actions since `since`, every page of them."""
        records: list[RemoteRecord] = []
        before: str | None = None
        while True:
            params: dict[str, Any] = {
                "filter": "deleteCard",
                "fields": ACTION_FIELDS,
                "limit": self.actions_page_size,
            }
            if since is not None:
                params["since"] = format_time(since)
            if before is not None:
                params["before"] = before
            actions = _items(await self._call("GET", f"/boards/{board_id}/actions", **params))
            for action in actions:
                record = to_deleted_task(action, board_id)
                if record is not None:
                    records.append(record)
            if len(actions) < self.actions_page_size:
                return records
            before = str(actions[-1]["id"])

    # Plumbing

    async def _require(self, kind: RecordKind, external_id: str) -> RemoteRecord:
        record = await self.get(kind, external_id)
        if record is None:
            raise refused(f"{kind.value} {external_id} was not found")
        return record

    def _record_path(
        self, kind: RecordKind, external_id: str
    ) -> tuple[str, str, Callable[[Mapping[str, Any]], RemoteRecord]]:
        if kind is RecordKind.project:
            return f"/boards/{_id(external_id)}", BOARD_FIELDS, to_project
        if kind is RecordKind.task:
            return f"/cards/{_id(external_id)}", CARD_FIELDS, to_task
        raise self._no_kind(kind)

    def _no_kind(self, kind: RecordKind) -> IntegrationError:
        return self.not_supported(kind.value, "Trello holds projects (boards) and tasks (cards)")

    async def _call(
        self, method: str, path: str, *, json: Mapping[str, Any] | None = None, **params: Any
    ) -> Any:
        """One API call through the policy layer (which adds `token=`); the parsed JSON, or
        the framework error carrying Trello's own message."""
        query = {KEY_PARAM: self.config.api_key, **params}
        try:
            response = await self.client.request(method, path, params=query, json=json)
        except IntegrationError as exc:
            raise error_from(exc) from exc
        content = await response.aread()
        if not content:
            return None
        try:
            return response.json()
        except ValueError:
            raise Permanent(
                f"{SPEC.title} answered {method} {path} with something that is not JSON",
                integration=SPEC.slug,
                status=response.status_code,
            ) from None


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping) and item.get("id")]


def _id(value: str) -> str:
    """An id as a path segment: Trello ids and short links are letters and digits."""
    if not value or not value.isalnum() or not value.isascii():
        raise refused(f"{value!r} is not a Trello id")
    return value


def _order(record: RemoteRecord) -> tuple[datetime, str]:
    return record.updated_at, record.id


def _write_cursor(record: RemoteRecord) -> str:
    return f"{format_time(record.updated_at)}|{record.id}"


def _read_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    moment, _, record_id = cursor.partition("|")
    when = parse_time(moment)
    if when is None or not record_id:
        raise refused(f"cursor {cursor!r} is not one this connector wrote")
    return when, record_id
