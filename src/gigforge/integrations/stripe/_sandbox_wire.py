"""Stripe's wire conventions as the sandbox speaks them: form decoding, error envelopes,
parameter checks. Only `sandbox.py` uses this module."""

from __future__ import annotations

import json
import operator
import re
import secrets
import string
from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

NO_API_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)
RATE_LIMITED = (
    "Too many requests hit the API too quickly. We recommend an exponential backoff of your "
    "requests."
)
BALANCE_INSUFFICIENT = (
    "You have insufficient available funds in your Stripe account. Try adding funds directly "
    "to your available balance by creating Charges using the 4000000000000077 test card."
)
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_ALPHABET = string.ascii_letters + string.digits

Params = dict[str, Any]


class Failure(Exception):
    """A Stripe error answer. `saved` marks failures after execution began, which Stripe's
    idempotency layer stores and replays; validation failures are not stored."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_envelope(message, error_type=error_type, code=code, param=param)
        self.saved = saved


def error_envelope(
    message: str,
    *,
    error_type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """Stripe's error object; its keys come in alphabetical order, as Stripe sends them."""
    error: dict[str, Any] = {"message": message, "type": error_type}
    if code:
        error["code"] = code
        error["doc_url"] = "https://stripe.com/docs/error-codes/" + code.replace("_", "-")
    if param:
        error["param"] = param
    return {"error": dict(sorted(error.items()))}


def render_fault(status: int, message: str) -> Response:
    """The `FaultInjector` renderer: injected failures look like Stripe's."""
    if status == 429:
        return json_response(429, error_envelope(RATE_LIMITED))
    error_type = "api_error" if status >= 500 else "invalid_request_error"
    return json_response(status, error_envelope(message, error_type=error_type))


def decode_form(pairs: Sequence[tuple[str, str]]) -> Params:
    """Rebuild nested parameters from bracket notation (`a[b][0]=x` -> {"a": {"b": ["x"]}})."""
    root: Params = {}
    for key, value in pairs:
        head, bracket, rest = key.partition("[")
        segments = [head, *_BRACKET.findall(bracket + rest)]
        node = root
        for segment in segments[:-1]:
            child = node.setdefault(segment or str(len(node)), {})
            if not isinstance(child, dict):
                raise ValueError(f"Invalid parameter: {key} mixes a value and nested fields")
            node = child
        node[segments[-1] or str(len(node))] = value
    decoded = _listify(root)
    if not isinstance(decoded, dict):
        raise ValueError("Invalid parameters: top-level names cannot be array indexes")
    return decoded


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def json_response(status: int, body: Params, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, indent=2) + "\n",
        status_code=status,
        media_type="application/json",
        headers={"Request-Id": new_id("req"), **(headers or {})},
    )


def new_id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def redacted(key: str) -> str:
    """Stripe names a refused key by its prefix and last four characters only."""
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def param_name(name: str, prefix: str) -> str:
    return f"{prefix}[{name}]" if prefix else name


def missing(param: str) -> Failure:
    return Failure(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def required(params: Params, name: str, prefix: str = "") -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise missing(param_name(name, prefix))
    return value


def integer(
    params: Params, name: str, prefix: str = "", *, minimum: int = 0, maximum: int | None = None
) -> int:
    value = params.get(name)
    if value is None or value == "":
        raise missing(param_name(name, prefix))
    text = str(value)
    if not text.lstrip("-").isdigit():
        raise Failure(
            400,
            f"Invalid integer: {text}",
            code="parameter_invalid_integer",
            param=param_name(name, prefix),
        )
    number = int(text)
    if number < minimum or (maximum is not None and number > maximum):
        limit = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise Failure(
            400,
            f"This value must be {limit}.",
            code="parameter_invalid_integer",
            param=param_name(name, prefix),
        )
    return number


def money(amount: int, currency: str) -> str:
    major, minor = divmod(amount, 100)
    return f"{major}.{minor:02d} {currency.upper()}"


def line_items_total(items: Any) -> tuple[int, str]:
    """Check `line_items` built from `price_data` and total them; all share one currency."""
    if not items:
        raise missing("line_items")
    if not isinstance(items, list):
        raise Failure(400, "Invalid array", param="line_items")
    total, currency = 0, None
    for index, item in enumerate(items):
        prefix = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise Failure(400, "Invalid object", param=prefix)
        if "price" in item:
            raise Failure(
                400,
                f"No such price: '{item['price']}'",
                code="resource_missing",
                param=f"{prefix}[price]",
            )
        price_data = item.get("price_data")
        if not isinstance(price_data, dict):
            raise missing(f"{prefix}[price_data]")
        item_currency = required(price_data, "currency", f"{prefix}[price_data]")
        unit_amount = integer(price_data, "unit_amount", f"{prefix}[price_data]", minimum=0)
        product = price_data.get("product_data")
        if not isinstance(product, dict):
            raise missing(f"{prefix}[price_data][product_data]")
        required(product, "name", f"{prefix}[price_data][product_data]")
        quantity = integer(item, "quantity", prefix, minimum=1)
        if currency is not None and item_currency != currency:
            raise Failure(400, "All line items must use the same currency.", param=prefix)
        currency = item_currency
        total += unit_amount * quantity
    assert currency is not None
    return total, currency


_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def event_filter(params: Params) -> Callable[[Params], bool]:
    """`type`/`types` (with `*` wildcards) and `created[gt|gte|lt|lte]` of List all events."""
    patterns = params.get("types") or ([params["type"]] if params.get("type") else [])
    created = params.get("created")
    if isinstance(created, dict):
        bounds = {op: integer(created, op, "created") for op in created if op in _COMPARISONS}
    elif created is not None:
        exact = integer(params, "created")
        bounds = {"gte": exact, "lte": exact}
    else:
        bounds = {}

    def wanted(event: Params) -> bool:
        if patterns and not any(fnmatchcase(event["type"], str(p)) for p in patterns):
            return False
        return all(_COMPARISONS[op](event["created"], bound) for op, bound in bounds.items())

    return wanted


def balance_object(available: dict[str, int], pending: dict[str, int]) -> Params:
    def amounts(by_currency: dict[str, int]) -> list[Params]:
        return [
            {"amount": amount, "currency": currency, "source_types": {"card": amount}}
            for currency, amount in sorted(by_currency.items())
        ]

    return {
        "object": "balance",
        "available": amounts(available),
        "livemode": False,
        "pending": amounts(pending),
    }


def idempotency_mismatch(key: str, path: str, first_path: str | None) -> Params:
    """Stripe's answer to a key reused on another endpoint, or with other parameters."""
    if first_path is not None:
        message = (
            "Keys for idempotent requests can only be used for the same endpoint they were "
            f"first used for ('{path}' vs '{first_path}'). Try using a key other than "
            f"'{key}' if you meant to execute a different request."
        )
    else:
        message = (
            "Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Try using a key other than '{key}' if you meant to "
            "execute a different request."
        )
    return error_envelope(message, error_type="idempotency_error")


def unrecognized_url(method: str, path: str) -> Params:
    return error_envelope(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or "
        "we can help at https://support.stripe.com/."
    )


def no_such(kind: str, object_id: str, *, param: str | None = None, status: int = 404) -> Failure:
    """Stripe's answer for an id it does not know: 404 on a path, 400 on a parameter."""
    return Failure(
        status if param is None else 400,
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def account_invalid(key: str, account: str) -> Failure:
    """A `Stripe-Account` (or account id) the platform has no access to: a 403 in Stripe."""
    return Failure(
        403,
        f"The provided key '{redacted(key)}' does not have access to account '{account}' (or "
        "that account does not exist). Application access may have been revoked.",
        code="account_invalid",
    )


def stripe_fee(amount: int) -> int:
    """Stripe's standard card pricing: 2.9% + 30 cents, the percentage rounded half up."""
    return (amount * 29 + 500) // 1000 + 30


def list_page(items: Sequence[Params], params: Params, url: str, kind: str) -> Params:
    """One page of a list endpoint, newest first (`items` are in the order they were made):
    `limit` (1-100, default 10), `created` bounds, and `starting_after` naming the last object
    of the previous page."""
    limit = integer(params, "limit", minimum=1, maximum=100) if "limit" in params else 10
    wanted = event_filter({"created": params["created"]} if "created" in params else {})
    matching = [item for item in reversed(items) if wanted(item)]
    start = 0
    cursor = params.get("starting_after")
    if cursor:
        ids = [item["id"] for item in matching]
        if cursor not in ids:
            raise no_such(kind, str(cursor), param="starting_after")
        start = ids.index(cursor) + 1
    return {
        "object": "list",
        "data": matching[start : start + limit],
        "has_more": len(matching) > start + limit,
        "url": url,
    }


def expands(params: Params, field: str) -> bool:
    """Whether `expand[]` asks for `field` (e.g. `data.source` on a list)."""
    wanted = params.get("expand")
    if isinstance(wanted, str):
        wanted = [wanted]
    return isinstance(wanted, list) and field in wanted


def hosted_base(request: Request) -> str:
    """Where this sandbox is served, ending in `/`: the mount's prefix (`root_path`) included.

    Starlette's `request.base_url` names the outermost app's root, not the mount's, so a
    page linked from it would miss `/sandbox/stripe` when the app mounts the sandbox."""
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return str(request.url.replace(path=f"{root}/", query="", fragment=""))
