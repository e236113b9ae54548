"""Pure translations between Gigforge's payment models and Stripe's wire format.

Stripe's v1 API takes `application/x-www-form-urlencoded` bodies whose nested parameters use
bracket notation (`metadata[reference]=...`, `line_items[0][quantity]=1`) and answers with JSON
objects (https://docs.stripe.com/api). Amounts are integers in the currency's minor unit on both
sides; Stripe spells currencies in lower case, Gigforge in upper case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from gigforge.integrations.framework import (
    CheckoutRequest,
    CheckoutSession,
    Payout,
    Refund,
    WebhookEvent,
)
from gigforge.integrations.stripe.errors import StripePayloadError
from gigforge.integrations.stripe.spec import SPEC

# Requests


def encode_form(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested parameters into Stripe's bracket notation, in order.

    Dicts nest as `parent[child]`, lists as `parent[0]`, booleans become `true`/`false` and
    `None` is left out (as Stripe's own libraries do). Floats are refused: money is integers.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _encode(str(key), value, pairs)
    return pairs


def _encode(key: str, value: Any, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        pairs.append((key, "true" if value else "false"))
    elif isinstance(value, int | str):
        pairs.append((key, str(value)))
    elif isinstance(value, Mapping):
        for child, child_value in value.items():
            _encode(f"{key}[{child}]", child_value, pairs)
    elif isinstance(value, Sequence):
        for index, item in enumerate(value):
            _encode(f"{key}[{index}]", item, pairs)
    else:
        raise TypeError(f"cannot form-encode {key}={value!r} ({type(value).__name__})")


def checkout_params(request: CheckoutRequest) -> dict[str, Any]:
    """A one-line hosted Checkout Session in payment mode
    (https://docs.stripe.com/api/checkout/sessions/create).

    The reference goes into `client_reference_id` and into the metadata of both the session and
    its PaymentIntent, so every later webhook and refund can be tied back to our row.
    """
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": request.currency.lower(),
                    "unit_amount": request.amount_minor,
                    "product_data": {"name": request.description},
                },
                "quantity": 1,
            }
        ],
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "customer_email": request.customer_email,
        "client_reference_id": request.reference,
        "metadata": {"reference": request.reference},
        "payment_intent_data": {"metadata": {"reference": request.reference}},
    }


def refund_params(payment_id: str, amount_minor: int) -> dict[str, Any]:
    """A refund names either the charge (`ch_...`) or the PaymentIntent it returns money from
    (https://docs.stripe.com/api/refunds/create)."""
    target = "charge" if payment_id.startswith(("ch_", "py_")) else "payment_intent"
    return {target: payment_id, "amount": amount_minor}


def transfer_params(
    *, amount_minor: int, currency: str, destination: str, transfer_group: str | None
) -> dict[str, Any]:
    """A Connect transfer to a connected account (https://docs.stripe.com/api/transfers/create)."""
    return {
        "amount": amount_minor,
        "currency": currency.lower(),
        "destination": destination,
        "transfer_group": transfer_group,
    }


# Responses


class StripeCheckoutSession(CheckoutSession):
    livemode: bool | None = None
    payment_status: str | None = None
    payment_intent: str | None = None
    client_reference_id: str | None = None
    expires_at: datetime | None = None


class StripeRefund(Refund):
    currency: str | None = None
    payment_intent: str | None = None
    charge: str | None = None
    failure_reason: str | None = None


class StripePayout(Payout):
    """A Connect transfer: Gigforge's payout to a collaborator's connected account."""

    destination: str | None = None
    transfer_group: str | None = None
    amount_reversed: int = 0
    livemode: bool | None = None


class StripeEvent(WebhookEvent):
    livemode: bool | None = None
    api_version: str | None = None
    account: str | None = Field(default=None, description="Connected account it happened on")


class StripeBalance(BaseModel):
    livemode: bool | None
    available: dict[str, int]
    pending: dict[str, int]


def to_checkout_session(raw: Mapping[str, Any]) -> StripeCheckoutSession:
    """`url` is only present while the session is open; `status` is nullable in the docs."""
    return StripeCheckoutSession(
        id=_required_str(raw, "id", "checkout.session"),
        url=raw.get("url"),
        status=raw.get("status") or "unknown",
        amount_minor=_required_int(raw, "amount_total", "checkout.session"),
        currency=_required_str(raw, "currency", "checkout.session").upper(),
        livemode=raw.get("livemode"),
        payment_status=raw.get("payment_status"),
        payment_intent=_id_of(raw.get("payment_intent")),
        client_reference_id=raw.get("client_reference_id"),
        expires_at=_timestamp(raw.get("expires_at")),
    )


def to_refund(raw: Mapping[str, Any]) -> StripeRefund:
    """Statuses are pending, requires_action, succeeded, failed or canceled (nullable)."""
    currency = raw.get("currency")
    return StripeRefund(
        id=_required_str(raw, "id", "refund"),
        status=raw.get("status") or "unknown",
        amount_minor=_required_int(raw, "amount", "refund"),
        currency=currency.upper() if isinstance(currency, str) else None,
        payment_intent=_id_of(raw.get("payment_intent")),
        charge=_id_of(raw.get("charge")),
        failure_reason=raw.get("failure_reason"),
    )


def to_payout(raw: Mapping[str, Any]) -> StripePayout:
    """A transfer has no status field: Stripe moves the funds into the connected account's
    balance when it creates the transfer, so it is `paid` until it is (partly) reversed."""
    amount = _required_int(raw, "amount", "transfer")
    reversed_amount = raw.get("amount_reversed")
    reversed_amount = reversed_amount if isinstance(reversed_amount, int) else 0
    if raw.get("reversed"):
        status = "reversed"
    elif reversed_amount > 0:
        status = "partially_reversed"
    else:
        status = "paid"
    return StripePayout(
        id=_required_str(raw, "id", "transfer"),
        status=status,
        amount_minor=amount,
        currency=_required_str(raw, "currency", "transfer").upper(),
        destination=_id_of(raw.get("destination")),
        transfer_group=raw.get("transfer_group"),
        amount_reversed=reversed_amount,
        livemode=raw.get("livemode"),
    )


def to_event(raw: Mapping[str, Any]) -> StripeEvent:
    """An Event object (https://docs.stripe.com/api/events/object); `data.object` holds the
    resource as it was when the event happened, rendered in the event's `api_version`."""
    created = _timestamp(raw.get("created"))
    if created is None:
        raise StripePayloadError("Stripe event without `created`", integration=SPEC.slug)
    data = raw.get("data")
    return StripeEvent(
        id=_required_str(raw, "id", "event"),
        type=_required_str(raw, "type", "event"),
        created=created,
        data=data if isinstance(data, Mapping) else {},
        livemode=raw.get("livemode"),
        api_version=raw.get("api_version"),
        account=raw.get("account"),
    )


def to_balance(raw: Mapping[str, Any]) -> StripeBalance:
    """Amounts per currency (https://docs.stripe.com/api/balance/balance_object)."""
    return StripeBalance(
        livemode=raw.get("livemode"),
        available=_amounts(raw.get("available")),
        pending=_amounts(raw.get("pending")),
    )


def _amounts(entries: Any) -> dict[str, int]:
    totals: dict[str, int] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("amount"), int):
            continue
        currency = str(entry.get("currency", "")).upper()
        totals[currency] = totals.get(currency, 0) + entry["amount"]
    return totals


# Errors


@dataclass(frozen=True)
class StripeErrorBody:
    """The `error` object of a failed call (https://docs.stripe.com/api/errors)."""

    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    doc_url: str | None = None
    decline_code: str | None = None


_ERROR_FIELDS = ("message", "type", "code", "param", "doc_url", "decline_code")
_JSON_STRING_FIELD = re.compile(r'"(' + "|".join(_ERROR_FIELDS) + r')"\s*:\s*"((?:[^"\\]|\\.)*)"')


def parse_error(body: str) -> StripeErrorBody | None:
    """Read Stripe's error envelope, also from an excerpt cut short mid-JSON.

    The policy layer keeps only the first few hundred bytes of an error body; Stripe's
    envelope (keys in alphabetical order, pretty-printed) usually fits but may be cut after
    `message`, so the fields that survived are read one by one.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if isinstance(payload, Mapping):
        error = payload.get("error")
        return error_body(error) if isinstance(error, Mapping) else None
    found: dict[str, str] = {}
    for name, encoded in _JSON_STRING_FIELD.findall(body):
        try:
            found.setdefault(name, json.loads(f'"{encoded}"'))
        except ValueError:
            continue
    return StripeErrorBody(**found) if found else None


def error_body(error: Mapping[str, Any]) -> StripeErrorBody:
    return StripeErrorBody(
        **{name: str(error[name]) for name in _ERROR_FIELDS if error.get(name) is not None}
    )


# Helpers


def _required_str(raw: Mapping[str, Any], key: str, kind: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise StripePayloadError(f"Stripe {kind} without `{key}`", integration=SPEC.slug)
    return value


def _required_int(raw: Mapping[str, Any], key: str, kind: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise StripePayloadError(f"Stripe {kind} without `{key}`", integration=SPEC.slug)
    return value


def _id_of(value: Any) -> str | None:
    """An expandable field is an id, or the object itself when the caller expanded it."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return datetime.fromtimestamp(value, tz=UTC)
