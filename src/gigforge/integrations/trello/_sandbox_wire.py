"""Wire details of the Trello sandbox: error answers, deliveries, request parsing and the
`fields=` selection, kept apart from the sandbox's state and routes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from gigforge.integrations.trello.webhooks import SIGNATURE_HEADER, sign

KEY_LIMIT = 300
WINDOW_SECONDS = 10.0

Json = dict[str, Any]
CallbackCheck = Callable[[str], Awaitable[int]]


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST Trello makes to a callback URL."""

    url: str
    headers: dict[str, str]
    body: bytes
    webhook_id: str

    def json(self) -> Json:
        loaded: Json = json.loads(self.body)
        return loaded


class Failure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def render_fault(status: int, message: str) -> Response:
    """Injected failures look like Trello's: JSON for a 429, plain text otherwise."""
    if status == 429:
        return JSONResponse(
            {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"},
            status_code=429,
        )
    return PlainTextResponse(message, status_code=status)


class TokenLimiter:
    """Trello's per-token window (100 requests in 10 seconds) and its headers. The key's limit
    is reported in the headers the same way, counted over every token."""

    def __init__(self) -> None:
        self.windows: dict[str, list[float]] = {}

    def admit(self, token: str, *, now: float, limit: int) -> bool:
        window = self.windows.setdefault(token, [now, 0])
        if now - window[0] >= WINDOW_SECONDS:
            window[0], window[1] = now, 0
        window[1] += 1
        return window[1] <= limit

    def headers(self, response: Response, token: str | None, *, limit: int) -> None:
        used = int(self.windows.get(token or "", [0, 0])[1])
        used_by_key = int(sum(window[1] for window in self.windows.values()))
        interval = str(int(WINDOW_SECONDS * 1000))
        response.headers["x-rate-limit-api-token-interval-ms"] = interval
        response.headers["x-rate-limit-api-token-max"] = str(limit)
        response.headers["x-rate-limit-api-token-remaining"] = str(max(0, limit - used))
        response.headers["x-rate-limit-api-key-interval-ms"] = interval
        response.headers["x-rate-limit-api-key-max"] = str(KEY_LIMIT)
        response.headers["x-rate-limit-api-key-remaining"] = str(max(0, KEY_LIMIT - used_by_key))


def rate_limited() -> Response:
    return JSONResponse(
        {"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}, status_code=429
    )


def signed_delivery(webhook: Json, action: Json, model: Json, *, secret: str) -> WebhookDelivery:
    """The POST Trello makes for `action` to a webhook's callback, signed with the app secret."""
    payload = {
        "action": action,
        "model": model,
        "webhook": {
            "id": webhook["id"],
            "description": webhook["description"],
            "idModel": webhook["idModel"],
            "callbackURL": webhook["callbackURL"],
            "active": webhook["active"],
        },
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    return WebhookDelivery(
        url=webhook["callbackURL"],
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body, webhook["callbackURL"]),
        },
        body=body,
        webhook_id=webhook["id"],
    )


async def body_params(request: Request) -> Json:
    raw = await request.body()
    if not raw:
        return {}
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            loaded = json.loads(raw)
        except ValueError:
            raise Failure(400, "invalid JSON") from None
        if not isinstance(loaded, dict):
            raise Failure(400, "invalid JSON")
        return loaded
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def select(record: Json, params: Json) -> Json:
    """Trello's `fields=`: the named fields and the id; all of them when absent or `all`."""
    wanted = str(params.get("fields") or "all")
    if wanted == "all":
        return dict(record)
    names = {name.strip() for name in wanted.split(",")}
    return {key: value for key, value in record.items() if key == "id" or key in names}


def matches(record: Json, wanted: str) -> bool:
    if wanted == "all":
        return True
    if wanted == "none":
        return False
    if wanted == "closed":
        return bool(record.get("closed"))
    return not record.get("closed")


def card_ref(card: Json, *names: str) -> Json:
    ref = {"id": card["id"], "idShort": card["idShort"], "shortLink": card["shortLink"]}
    ref.update({name: card.get(name) for name in names if name in card})
    return ref


def is_object_id(value: str) -> bool:
    return len(value) == 24 and all(ch in "0123456789abcdef" for ch in value)


def parse_date(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def slug(name: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in name.lower()).split())
