"""A Trello sandbox: the REST API under `/1` for one member, in memory.

It speaks Trello's protocol for everything the connector uses: `key=` and `token=` query
parameters (401 `invalid key` / `invalid token` in plain text), 24-hex ObjectIds whose first
bytes are the creation time, `fields=` selection, plain-text errors (`invalid id`, `The
requested resource was not found.`), the per-token limit of 100 requests in 10 seconds (429
with Trello's JSON body) and the `x-rate-limit-api-*` headers on every answer, actions served
newest first with `since`/`before`/`limit`, and webhooks: `POST /webhooks` first sends a HEAD
request to the callback URL through `callback_check` and refuses the webhook unless it
answers 200; each action on a watched board is then signed into `outbox` (and awaited by
`webhook_target`, when set) as Trello would post it.

Test controls (`person_edits_card`, `person_moves_card`, `person_archives_card`,
`person_deletes_card`, `person_adds_card`, `person_renames_board`) do what a person in Trello
would, and emit the action and webhook Trello would.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gigforge.integrations.framework.sandbox import FaultInjector, Faults
from gigforge.integrations.trello._sandbox_wire import (
    CallbackCheck,
    Failure,
    Json,
    TokenLimiter,
    WebhookDelivery,
    body_params,
    card_ref,
    is_object_id,
    matches,
    parse_date,
    rate_limited,
    render_fault,
    select,
    signed_delivery,
    slug,
    truthy,
)

__all__ = [
    "SANDBOX_API_KEY",
    "SANDBOX_APP_SECRET",
    "SANDBOX_TOKEN",
    "TrelloSandbox",
    "WebhookDelivery",
    "create_sandbox",
]

SANDBOX_API_KEY = "0123456789abcdef0123456789abcdef"
SANDBOX_TOKEN = "ATTAsandboxtoken0123456789abcdef0123456789abcdef"  # noqa: S105
SANDBOX_APP_SECRET = "sandbox-app-secret-0123456789abcdef"  # noqa: S105
SITE = "https://trello.com"
TOKEN_LIMIT = 100
DEFAULT_LISTS = ("To Do", "Doing", "Done")
NOT_FOUND = "The requested resource was not found."
MAX_ACTIONS = 1000


@dataclass
class TrelloSandbox:
    api_key: str = SANDBOX_API_KEY
    tokens: set[str] = field(default_factory=lambda: {SANDBOX_TOKEN})
    app_secret: str = SANDBOX_APP_SECRET
    faults: Faults = field(default_factory=Faults)
    token_limit: int = TOKEN_LIMIT
    clock: Callable[[], float] = time.time
    callback_check: CallbackCheck | None = None
    webhook_target: Callable[[WebhookDelivery], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self.member: Json = {}
        self.organizations: dict[str, Json] = {}
        self.boards: dict[str, Json] = {}
        self.lists: dict[str, Json] = {}
        self.cards: dict[str, Json] = {}
        self.actions: list[Json] = []
        self.webhooks: dict[str, Json] = {}
        self.outbox: list[WebhookDelivery] = []
        self.head_checks: list[str] = []
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self._undelivered: list[WebhookDelivery] = []
        self._counter = itertools.count(1)
        self.limiter = TokenLimiter()
        self._seed()
        api = self._api
        routes = [
            Route("/1/members/me", api(self._me), methods=["GET"]),
            Route("/1/members/me/organizations", api(self._organizations), methods=["GET"]),
            Route("/1/members/me/boards", api(self._member_boards), methods=["GET"]),
            Route("/1/boards", api(self._create_board), methods=["POST"]),
            Route("/1/boards/{board_id}", api(self._get_board), methods=["GET"]),
            Route("/1/boards/{board_id}", api(self._update_board), methods=["PUT"]),
            Route("/1/boards/{board_id}", api(self._delete_board), methods=["DELETE"]),
            Route("/1/boards/{board_id}/lists", api(self._board_lists), methods=["GET"]),
            Route("/1/boards/{board_id}/cards", api(self._board_cards), methods=["GET"]),
            Route("/1/boards/{board_id}/cards/{filter}", api(self._board_cards), methods=["GET"]),
            Route("/1/boards/{board_id}/actions", api(self._board_actions), methods=["GET"]),
            Route("/1/cards", api(self._create_card), methods=["POST"]),
            Route("/1/cards/{card_id}", api(self._get_card), methods=["GET"]),
            Route("/1/cards/{card_id}", api(self._update_card), methods=["PUT"]),
            Route("/1/cards/{card_id}", api(self._delete_card), methods=["DELETE"]),
            Route("/1/webhooks", api(self._create_webhook), methods=["POST"]),
            Route("/1/webhooks/{webhook_id}", api(self._get_webhook), methods=["GET"]),
            Route("/1/webhooks/{webhook_id}", api(self._delete_webhook), methods=["DELETE"]),
        ]
        missing = {404: self._unrouted, 405: self._unrouted}
        self.app = FaultInjector(
            Starlette(routes=routes, exception_handlers=missing), self.faults, render=render_fault
        )

    # Test controls: what a person does in Trello

    async def person_adds_card(self, list_id: str, name: str, *, desc: str = "") -> Json:
        card = self._new_card(self.lists[list_id], {"name": name, "desc": desc})
        self._record("createCard", card["idBoard"], {"card": card_ref(card, "name", "idList")})
        await self.flush_webhooks()
        return card

    async def person_edits_card(self, card_id: str, **changes: Any) -> Json:
        card = self.cards[card_id]
        old = {name: card.get(name) for name in changes}
        card.update(changes)
        self._touch(card)
        self._record(
            "updateCard",
            card["idBoard"],
            {"card": card_ref(card, *changes), "old": old, "list": self._list_ref(card["idList"])},
        )
        await self.flush_webhooks()
        return card

    async def person_moves_card(self, card_id: str, list_id: str) -> Json:
        card = self.cards[card_id]
        before = card["idList"]
        card["idList"] = list_id
        self._touch(card)
        self._record(
            "updateCard",
            card["idBoard"],
            {
                "card": card_ref(card, "idList"),
                "old": {"idList": before},
                "listBefore": self._list_ref(before),
                "listAfter": self._list_ref(list_id),
            },
        )
        await self.flush_webhooks()
        return card

    async def person_archives_card(self, card_id: str) -> Json:
        return await self.person_edits_card(card_id, closed=True)

    async def person_deletes_card(self, card_id: str) -> None:
        card = self.cards.pop(card_id)
        self._record(
            "deleteCard",
            card["idBoard"],
            {
                "card": {"id": card_id, "idShort": card["idShort"]},
                "list": self._list_ref(card["idList"]),
            },
        )
        await self.flush_webhooks()

    async def person_renames_board(self, board_id: str, name: str) -> Json:
        board = self.boards[board_id]
        old = board["name"]
        board["name"] = name
        board["dateLastActivity"] = self._now()
        self._record(
            "updateBoard",
            board_id,
            {
                "board": {"id": board_id, "name": name, "shortLink": board["shortLink"]},
                "old": {"name": old},
            },
        )
        await self.flush_webhooks()
        return board

    def new_token(self) -> str:
        token = "ATTA" + secrets.token_hex(30)
        self.tokens.add(token)
        return token

    async def flush_webhooks(self) -> None:
        """Hand each delivery not yet handed over to `webhook_target`, in order."""
        while self._undelivered:
            delivery = self._undelivered.pop(0)
            if self.webhook_target is not None:
                await self.webhook_target(delivery)

    # Members and organizations

    def _me(self, request: Request, params: Json) -> Any:
        return select(self.member, params)

    def _organizations(self, request: Request, params: Json) -> Any:
        return [select(org, params) for org in self.organizations.values()]

    def _member_boards(self, request: Request, params: Json) -> Any:
        wanted = str(params.get("filter") or "all")
        boards = [b for b in self.boards.values() if matches(b, wanted)]
        return [select(board, params) for board in boards]

    # Boards

    def _create_board(self, request: Request, params: Json) -> Any:
        name = str(params.get("name") or "").strip()
        if not name:
            raise Failure(400, "invalid value for name")
        organization = params.get("idOrganization")
        if organization and organization not in self.organizations:
            raise Failure(400, "invalid value for idOrganization")
        board_id = self._new_id()
        short = secrets.token_hex(4)
        board = {
            "id": board_id,
            "name": name,
            "desc": str(params.get("desc") or ""),
            "closed": False,
            "idOrganization": organization or None,
            "url": f"{SITE}/b/{short}/{slug(name)}",
            "shortUrl": f"{SITE}/b/{short}",
            "shortLink": short,
            "dateLastActivity": None,
        }
        self.boards[board_id] = board
        if truthy(params.get("defaultLists", True)):
            for position, list_name in enumerate(DEFAULT_LISTS, start=1):
                self._new_list(board_id, list_name, position * 16384)
        self._record("createBoard", board_id, {"board": {"id": board_id, "name": name}})
        return select(board, params)

    def _get_board(self, request: Request, params: Json) -> Any:
        return select(self._board(request), params)

    def _update_board(self, request: Request, params: Json) -> Any:
        board = self._board(request)
        changed: Json = {k: params[k] for k in ("name", "desc", "closed") if k in params}
        if "name" in changed and not str(changed["name"]).strip():
            raise Failure(400, "invalid value for name")
        if "closed" in changed:
            changed["closed"] = truthy(changed["closed"])
        old = {k: board.get(k) for k in changed}
        board.update(changed)
        board["dateLastActivity"] = self._now()
        self._record(
            "updateBoard", board["id"], {"board": {"id": board["id"], **changed}, "old": old}
        )
        return select(board, params)

    def _delete_board(self, request: Request, params: Json) -> Any:
        board = self._board(request)
        del self.boards[board["id"]]
        for list_id in [k for k, v in self.lists.items() if v["idBoard"] == board["id"]]:
            del self.lists[list_id]
        for card_id in [k for k, v in self.cards.items() if v["idBoard"] == board["id"]]:
            del self.cards[card_id]
        return {"_value": None}

    def _board_lists(self, request: Request, params: Json) -> Any:
        board = self._board(request)
        wanted = str(params.get("filter") or "open")
        lists = [
            item
            for item in self.lists.values()
            if item["idBoard"] == board["id"] and matches(item, wanted)
        ]
        lists.sort(key=lambda item: item["pos"])
        return [select(item, params) for item in lists]

    def _board_cards(self, request: Request, params: Json) -> Any:
        board = self._board(request)
        wanted = request.path_params.get("filter", "open")
        if wanted not in {"all", "closed", "none", "open", "visible"}:
            raise Failure(400, "invalid value for filter")
        cards = [
            card
            for card in self.cards.values()
            if card["idBoard"] == board["id"]
            and matches(card, "open" if wanted == "visible" else wanted)
        ]
        return [select(card, params) for card in cards]

    def _board_actions(self, request: Request, params: Json) -> Any:
        board = self._board(request)
        types = {t for t in str(params.get("filter") or "all").split(",") if t}
        try:
            limit = int(params.get("limit") or 50)
        except ValueError:
            raise Failure(400, "invalid value for limit") from None
        if not 0 <= limit <= MAX_ACTIONS:
            raise Failure(400, "invalid value for limit")
        since = self._bound(params.get("since"))
        before = self._bound(params.get("before"))
        found = []
        for action in reversed(self.actions):  # newest first, as Trello serves them
            if action["data"].get("board", {}).get("id") != board["id"]:
                continue
            if "all" not in types and action["type"] not in types:
                continue
            key = (action["date"], action["id"])
            if since is not None and key <= since:
                continue
            if before is not None and key >= before:
                continue
            found.append(action)
        return [select(action, params) for action in found[:limit]]

    # Cards

    def _create_card(self, request: Request, params: Json) -> Any:
        list_id = str(params.get("idList") or "")
        if not is_object_id(list_id):
            raise Failure(400, "invalid value for idList")
        board_list = self.lists.get(list_id)
        if board_list is None:
            raise Failure(404, "could not find the list")
        due = params.get("due")
        if due is not None and due != "" and parse_date(due) is None:
            raise Failure(400, "invalid value for due")
        card = self._new_card(
            board_list,
            {
                "name": str(params.get("name") or ""),
                "desc": str(params.get("desc") or ""),
                "due": due or None,
            },
        )
        self._record("createCard", card["idBoard"], {"card": card_ref(card, "name", "idList")})
        return select(card, params)

    def _get_card(self, request: Request, params: Json) -> Any:
        return select(self._card(request), params)

    def _update_card(self, request: Request, params: Json) -> Any:
        card = self._card(request)
        changed: Json = {}
        for name in ("name", "desc", "due", "idList", "idBoard", "closed"):
            if name in params:
                changed[name] = params[name]
        if "due" in changed:
            if changed["due"] in (None, "", "null"):
                changed["due"] = None
            elif parse_date(changed["due"]) is None:
                raise Failure(400, "invalid value for due")
        if "closed" in changed:
            changed["closed"] = truthy(changed["closed"])
        if "idBoard" in changed and changed["idBoard"] not in self.boards:
            raise Failure(400, "invalid value for idBoard")
        if "idList" in changed:
            target = self.lists.get(str(changed["idList"]))
            if target is None:
                raise Failure(400, "invalid value for idList")
            board = changed.get("idBoard", card["idBoard"])
            if target["idBoard"] != board:
                raise Failure(400, "The list is not on the board")
        elif "idBoard" in changed and changed["idBoard"] != card["idBoard"]:
            raise Failure(400, "invalid value for idList")
        old = {name: card.get(name) for name in changed}
        card.update(changed)
        self._touch(card)
        self._record(
            "updateCard",
            card["idBoard"],
            {"card": card_ref(card, *changed), "old": old, "list": self._list_ref(card["idList"])},
        )
        return select(card, params)

    def _delete_card(self, request: Request, params: Json) -> Any:
        card = self._card(request)
        del self.cards[card["id"]]
        self._record(
            "deleteCard",
            card["idBoard"],
            {
                "card": {"id": card["id"], "idShort": card["idShort"]},
                "list": self._list_ref(card["idList"]),
            },
        )
        return {"limits": {}}

    # Webhooks

    async def _create_webhook(self, request: Request, params: Json) -> Any:
        callback = str(params.get("callbackURL") or "")
        model = str(params.get("idModel") or "")
        if not callback.startswith(("http://", "https://")):
            raise Failure(400, "invalid value for callbackURL")
        if not is_object_id(model):
            raise Failure(400, "invalid value for idModel")
        if model not in self.boards and model not in self.cards:
            raise Failure(400, "invalid value for idModel")
        if any(
            w["callbackURL"] == callback and w["idModel"] == model for w in self.webhooks.values()
        ):
            raise Failure(400, "A webhook with that callback, model, and token already exists")
        self.head_checks.append(callback)
        status = await self.callback_check(callback) if self.callback_check else 200
        if status != 200:
            raise Failure(400, f"URL ({callback}) did not return 200 status code, got {status}")
        webhook_id = self._new_id()
        webhook = {
            "id": webhook_id,
            "description": str(params.get("description") or ""),
            "idModel": model,
            "callbackURL": callback,
            "active": True,
            "consecutiveFailures": 0,
            "firstConsecutiveFailDate": None,
        }
        self.webhooks[webhook_id] = webhook
        return webhook

    def _get_webhook(self, request: Request, params: Json) -> Any:
        return self._webhook(request)

    def _delete_webhook(self, request: Request, params: Json) -> Any:
        webhook = self._webhook(request)
        del self.webhooks[webhook["id"]]
        return {"_value": None}

    # Plumbing

    def _api(
        self, handler: Callable[[Request, Json], Any]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.received.append((request.method, request.url.path, dict(request.query_params)))
            params: Json = dict(request.query_params)
            params.pop("key", None)
            params.pop("token", None)
            token: str | None = None
            try:
                token = self._authenticate(request)
                if not self.limiter.admit(token, now=self.clock(), limit=self.token_limit):
                    limited = rate_limited()
                    self.limiter.headers(limited, token, limit=self.token_limit)
                    return limited
                if request.method in {"POST", "PUT"}:
                    params.update(await body_params(request))
                result = handler(request, params)
                if isinstance(result, Awaitable):
                    result = await result
            except Failure as failure:
                response: Response = PlainTextResponse(failure.message, status_code=failure.status)
            else:
                response = JSONResponse(result)
            self.limiter.headers(response, token, limit=self.token_limit)
            await self.flush_webhooks()
            return response

        return endpoint

    def _authenticate(self, request: Request) -> str:
        if request.query_params.get("key") != self.api_key:
            raise Failure(401, "invalid key")
        token = request.query_params.get("token")
        if not token or token not in self.tokens:
            raise Failure(401, "invalid token")
        return token

    async def _unrouted(self, request: Request, exc: Exception) -> Response:
        return PlainTextResponse(
            "Cannot " + request.method + " " + request.url.path, status_code=404
        )

    def _board(self, request: Request) -> Json:
        return self._find(self.boards, request.path_params["board_id"])

    def _card(self, request: Request) -> Json:
        return self._find(self.cards, request.path_params["card_id"])

    def _webhook(self, request: Request) -> Json:
        return self._find(self.webhooks, request.path_params["webhook_id"])

    @staticmethod
    def _find(store: Mapping[str, Json], object_id: str) -> Json:
        if not is_object_id(object_id):
            raise Failure(400, "invalid id")
        found = store.get(object_id)
        if found is None:
            raise Failure(404, NOT_FOUND)
        return found

    def _new_id(self) -> str:
        return f"{int(self.clock()):08x}{next(self._counter):016x}"

    def _now(self) -> str:
        moment = datetime.fromtimestamp(self.clock(), UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    def _bound(self, value: Any) -> tuple[str, str] | None:
        """`since`/`before`: an action id (that action's place) or a date."""
        if not value:
            return None
        text = str(value)
        if is_object_id(text):
            for action in self.actions:
                if action["id"] == text:
                    return action["date"], action["id"]
            raise Failure(400, "invalid value for since/before")
        if parse_date(text) is None:
            raise Failure(400, "invalid date")
        return text, ""

    def _new_list(self, board_id: str, name: str, pos: float) -> Json:
        list_id = self._new_id()
        item = {"id": list_id, "name": name, "closed": False, "pos": pos, "idBoard": board_id}
        self.lists[list_id] = item
        return item

    def _list_ref(self, list_id: str) -> Json:
        item = self.lists.get(list_id, {"id": list_id, "name": ""})
        return {"id": item["id"], "name": item["name"]}

    def _new_card(self, board_list: Json, values: Json) -> Json:
        card_id = self._new_id()
        board = self.boards[board_list["idBoard"]]
        short = secrets.token_hex(4)
        number = 1 + sum(1 for c in self.cards.values() if c["idBoard"] == board["id"])
        card = {
            "id": card_id,
            "name": values.get("name") or "",
            "desc": values.get("desc") or "",
            "due": values.get("due"),
            "dueComplete": False,
            "idList": board_list["id"],
            "idBoard": board["id"],
            "closed": False,
            "idShort": number,
            "shortLink": short,
            "url": f"{SITE}/c/{short}/{number}-{slug(values.get('name') or '')}",
            "shortUrl": f"{SITE}/c/{short}",
            "dateLastActivity": self._now(),
        }
        self.cards[card_id] = card
        return card

    def _touch(self, card: Json) -> None:
        card["dateLastActivity"] = self._now()
        self.boards[card["idBoard"]]["dateLastActivity"] = card["dateLastActivity"]

    def _record(self, kind: str, board_id: str, data: Json) -> Json:
        board = self.boards.get(board_id, {"id": board_id, "name": "", "shortLink": ""})
        data = {
            **data,
            "board": {
                **{"id": board_id, "name": board["name"], "shortLink": board["shortLink"]},
                **data.get("board", {}),
            },
        }
        action = {
            "id": self._new_id(),
            "idMemberCreator": self.member["id"],
            "type": kind,
            "date": self._now(),
            "data": data,
            "memberCreator": {
                "id": self.member["id"],
                "username": self.member["username"],
                "fullName": self.member["fullName"],
            },
        }
        self.actions.append(action)
        card_id = data.get("card", {}).get("id")
        for webhook in self.webhooks.values():
            if webhook["active"] and webhook["idModel"] in {board_id, card_id}:
                self._deliver(webhook, action)
        return action

    def _deliver(self, webhook: Json, action: Json) -> None:
        model = self.boards.get(webhook["idModel"]) or self.cards.get(webhook["idModel"]) or {}
        delivery = signed_delivery(webhook, action, model, secret=self.app_secret)
        self.outbox.append(delivery)
        self._undelivered.append(delivery)

    def _seed(self) -> None:
        self.member = {
            "id": self._new_id(),
            "username": "gigforge_dev",
            "fullName": "Gigforge Developer",
            "url": f"{SITE}/gigforge_dev",
        }
        org_id = self._new_id()
        self.organizations[org_id] = {
            "id": org_id,
            "name": "gigforgestudio",
            "displayName": "Gigforge Studio",
            "url": f"{SITE}/w/gigforgestudio",
        }
        board_id = self._new_id()
        self.boards[board_id] = {
            "id": board_id,
            "name": "Client onboarding",
            "desc": "Every new client's first week.",
            "closed": False,
            "idOrganization": org_id,
            "url": f"{SITE}/b/seedb0a1/client-onboarding",
            "shortUrl": f"{SITE}/b/seedb0a1",
            "shortLink": "seedb0a1",
            "dateLastActivity": self._now(),
        }
        first = None
        for position, list_name in enumerate(DEFAULT_LISTS, start=1):
            created = self._new_list(board_id, list_name, position * 16384)
            first = first or created
        assert first is not None
        self._new_card(first, {"name": "Send the welcome pack", "desc": ""})

    @property
    def seeded_board(self) -> str:
        return next(iter(self.boards))


def create_sandbox(**options: Any) -> TrelloSandbox:
    return TrelloSandbox(**options)
