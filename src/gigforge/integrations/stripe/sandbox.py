"""A local Stripe for tests and demo mode: the v1 endpoints the connector calls, answered the
way Stripe answers them.

It checks the secret key (Bearer or Basic, as Stripe accepts both), form-decodes bracket
notation, keeps Stripe's idempotency rules (a replay returns the saved response with
`Idempotent-Replayed: true`; the same key with other parameters or on another endpoint is a 400
`idempotency_error`; requests that fail validation are not saved), pages lists with
`starting_after`/`has_more`, rate-limits per second like test mode, and renders every failure in
Stripe's `{"error": {...}}` envelope. A hosted "checkout page" at `/c/pay/<id>` lets a demo user
pay; `checkout_completed_delivery` builds the signed `checkout.session.completed` webhook Stripe
would send. Money settles at once here (Stripe's test mode makes card funds pending first).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from gigforge.integrations.framework.sandbox import FaultInjector, Faults
from gigforge.integrations.stripe._sandbox_wire import (
    BALANCE_INSUFFICIENT,
    NO_API_KEY,
    RATE_LIMITED,
    Failure,
    Params,
    balance_object,
    decode_form,
    error_envelope,
    event_filter,
    idempotency_mismatch,
    integer,
    json_response,
    line_items_total,
    missing,
    money,
    new_id,
    redacted,
    render_fault,
    required,
    unrecognized_url,
)
from gigforge.integrations.stripe.spec import STRIPE_API_VERSION
from gigforge.integrations.stripe.webhooks import SIGNATURE_HEADER, sign_payload

LOCK_TIMEOUT = (
    "This object cannot be accessed right now because another API request or Stripe process "
    "is currently accessing it. If you see this error intermittently, retry the request."
)
SANDBOX_SECRET_KEY = "sk_test_gigforge_sandbox_key"  # noqa: S105 - a sandbox-only key
SANDBOX_WEBHOOK_SECRET = "whsec_gigforge_sandbox"  # noqa: S105 - a sandbox-only secret
SANDBOX_CONNECTED_ACCOUNT = "acct_1GigforgeSandbox"
TEST_MODE_REQUESTS_PER_SECOND = 25

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


@dataclass(frozen=True)
class WebhookDelivery:
    """One signed POST as Stripe would send it to a webhook endpoint."""

    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    params: list[tuple[str, str]]


@dataclass
class _Payment:
    intent_id: str
    charge_id: str
    amount: int
    currency: str
    metadata: dict[str, Any]
    created: int
    refunded: int = 0


@dataclass(frozen=True)
class _Saved:
    path: str
    fingerprint: tuple[tuple[str, str], ...]
    status: int
    body: dict[str, Any]


class StripeSandbox:
    """One Stripe account in memory, seeded with a connected account, a balance, two paid
    PaymentIntents and their events.

    `received` records every API request so tests can check headers and encoding;
    `deliveries` collects the signed webhooks the checkout page produced, for demo mode to
    forward to Gigforge's webhook route.
    """

    def __init__(
        self,
        *,
        secret_key: str = SANDBOX_SECRET_KEY,
        webhook_secret: str = SANDBOX_WEBHOOK_SECRET,
        faults: Faults | None = None,
        requests_per_second: int | None = TEST_MODE_REQUESTS_PER_SECOND,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.faults = faults or Faults()
        self.requests_per_second = requests_per_second
        # The next N POSTs meet a locked object: 409 `lock_timeout` with Stripe-Should-Retry.
        self.lock_timeouts = 0
        self.clock = clock
        self.received: list[ReceivedRequest] = []
        self.sessions: dict[str, Params] = {}
        self.payments: dict[str, _Payment] = {}
        self.refunds: dict[str, Params] = {}
        self.transfers: dict[str, Params] = {}
        self.events: list[Params] = []
        self.deliveries: list[WebhookDelivery] = []
        self.accounts = {SANDBOX_CONNECTED_ACCOUNT}
        self.available: dict[str, int] = {"usd": 250_000}
        self.pending: dict[str, int] = {"usd": 12_500}
        self._session_intent_metadata: dict[str, dict[str, Any]] = {}
        self._idempotency: dict[str, _Saved] = {}
        self._window = -1
        self._window_count = 0
        self._seed()
        routes = [
            Route("/v1/checkout/sessions", self._api(self._create_session), methods=["POST"]),
            Route("/v1/refunds", self._api(self._create_refund), methods=["POST"]),
            Route("/v1/transfers", self._api(self._create_transfer), methods=["POST"]),
            Route("/v1/balance", self._api(self._balance), methods=["GET"]),
            Route("/v1/events", self._api(self._list_events), methods=["GET"]),
            Route("/c/pay/{session_id}", self._checkout_page, methods=["GET", "POST"]),
        ]
        unknown = {404: self._unrecognized, 405: self._unrecognized}
        app = Starlette(routes=routes, exception_handlers=unknown)
        self.app = FaultInjector(app, self.faults, render=render_fault)

    @property
    def seeded_payment_intents(self) -> list[str]:
        return list(self.payments)

    def complete_checkout(self, session_id: str) -> Params:
        """The customer pays an open session; returns the `checkout.session.completed` event."""
        session = self.sessions[session_id]
        if session["status"] != "open":
            raise ValueError(f"checkout session {session_id} is {session['status']}")
        payment = self._new_payment(
            session["amount_total"],
            session["currency"],
            self._session_intent_metadata.get(session_id, {}),
        )
        session.update(
            status="complete", payment_status="paid", payment_intent=payment.intent_id, url=None
        )
        return self._emit("checkout.session.completed", session)

    def checkout_completed_delivery(
        self, session_id: str, *, timestamp: int | None = None
    ) -> WebhookDelivery:
        return self.deliver(self.complete_checkout(session_id), timestamp=timestamp)

    def deliver(self, event: Params, *, timestamp: int | None = None) -> WebhookDelivery:
        """Sign an event exactly as Stripe signs a webhook delivery."""
        body = json.dumps(event, indent=2).encode()
        signed_at = int(self.clock()) if timestamp is None else timestamp
        return WebhookDelivery(
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                SIGNATURE_HEADER: sign_payload(self.webhook_secret, body, signed_at),
            },
            body=body,
        )

    # The API surface

    def _api(
        self, handler: Callable[[Request, Params], Params]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if request.method == "POST":
                pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
            else:
                pairs = list(request.query_params.multi_items())
            self.received.append(
                ReceivedRequest(request.method, request.url.path, dict(request.headers), pairs)
            )
            try:
                self._admit(request)
                params = decode_form(pairs)
            except Failure as failure:
                return json_response(failure.status, failure.body)
            except ValueError as exc:
                return json_response(400, error_envelope(str(exc)))
            if request.method == "POST" and self.lock_timeouts > 0:
                self.lock_timeouts -= 1
                return json_response(
                    409,
                    error_envelope(LOCK_TIMEOUT, code="lock_timeout"),
                    {"Stripe-Should-Retry": "true"},
                )
            key = request.headers.get("idempotency-key") if request.method == "POST" else None
            if key:
                replay = self._replay(key, request.url.path, pairs)
                if replay is not None:
                    return replay
            try:
                status, body = 200, handler(request, params)
            except Failure as failure:
                if not failure.saved:
                    return json_response(failure.status, failure.body)
                status, body = failure.status, failure.body
            if key:
                fingerprint = tuple(sorted(pairs))
                self._idempotency[key] = _Saved(request.url.path, fingerprint, status, body)
            version = request.headers.get("stripe-version", STRIPE_API_VERSION)
            return json_response(status, body, {"Stripe-Version": version})

        return endpoint

    def _admit(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        if not header:
            raise Failure(401, NO_API_KEY)
        scheme, _, credentials = header.partition(" ")
        key = credentials.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key).decode().partition(":")[0]
            except ValueError:
                key = ""
        elif scheme.lower() != "bearer":
            key = ""
        if not secrets.compare_digest(key.encode(), self.secret_key.encode()):
            raise Failure(401, f"Invalid API Key provided: {redacted(key)}")
        version = request.headers.get("stripe-version")
        if version is not None and not _VERSION.match(version):
            raise Failure(400, f"Invalid Stripe API version: {version}")
        if self.requests_per_second is not None:
            second = int(self.clock())
            if second != self._window:
                self._window, self._window_count = second, 0
            self._window_count += 1
            if self._window_count > self.requests_per_second:
                raise Failure(429, RATE_LIMITED)

    def _replay(self, key: str, path: str, pairs: list[tuple[str, str]]) -> Response | None:
        saved = self._idempotency.get(key)
        if saved is None:
            return None
        if saved.path != path or saved.fingerprint != tuple(sorted(pairs)):
            other_path = saved.path if saved.path != path else None
            return json_response(400, idempotency_mismatch(key, path, other_path))
        return json_response(saved.status, saved.body, {"Idempotent-Replayed": "true"})

    def _create_session(self, request: Request, params: Params) -> Params:
        mode = required(params, "mode")
        if mode != "payment":
            raise Failure(400, "This sandbox serves mode=payment sessions only.", param="mode")
        success_url = required(params, "success_url")
        total, currency = line_items_total(params.get("line_items"))
        now = int(self.clock())
        session_id = new_id("cs_test")
        session: Params = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_email": params.get("customer_email"),
            "expires_at": now + 24 * 3600,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{request.base_url}c/pay/{session_id}",
        }
        intent_data = params.get("payment_intent_data")
        if isinstance(intent_data, dict) and isinstance(intent_data.get("metadata"), dict):
            self._session_intent_metadata[session_id] = intent_data["metadata"]
        self.sessions[session_id] = session
        return session

    def _create_refund(self, request: Request, params: Params) -> Params:
        intent_id, charge_id = params.get("payment_intent"), params.get("charge")
        if not intent_id and not charge_id:
            raise missing("payment_intent")
        name, wanted = ("payment_intent", intent_id) if intent_id else ("charge", charge_id)
        payment = next(
            (p for p in self.payments.values() if wanted in (p.intent_id, p.charge_id)), None
        )
        if payment is None:
            raise Failure(400, f"No such {name}: '{wanted}'", code="resource_missing", param=name)
        remaining = payment.amount - payment.refunded
        amount = integer(params, "amount", minimum=1) if "amount" in params else remaining
        if remaining == 0:
            raise Failure(
                400,
                f"Charge {payment.charge_id} has already been refunded.",
                code="charge_already_refunded",
                saved=True,
            )
        if amount > remaining:
            raise Failure(
                400,
                f"Refund amount ({money(amount, payment.currency)}) is greater than unrefunded "
                f"amount on charge ({money(remaining, payment.currency)})",
                code="amount_too_large",
                param="amount",
                saved=True,
            )
        payment.refunded += amount
        self.available[payment.currency] = self.available.get(payment.currency, 0) - amount
        refund: Params = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": new_id("txn"),
            "charge": payment.charge_id,
            "created": int(self.clock()),
            "currency": payment.currency,
            "metadata": params.get("metadata") or {},
            "payment_intent": payment.intent_id,
            "reason": params.get("reason"),
            "receipt_number": None,
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        self._emit("refund.created", refund)
        return refund

    def _create_transfer(self, request: Request, params: Params) -> Params:
        amount = integer(params, "amount", minimum=1)
        currency = required(params, "currency")
        destination = required(params, "destination")
        if destination not in self.accounts:
            raise Failure(
                400,
                f"No such destination: '{destination}'",
                code="resource_missing",
                param="destination",
            )
        if self.available.get(currency, 0) < amount:
            raise Failure(400, BALANCE_INSUFFICIENT, code="balance_insufficient", saved=True)
        self.available[currency] -= amount
        transfer: Params = {
            "id": new_id("tr"),
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": new_id("txn"),
            "created": int(self.clock()),
            "currency": currency,
            "description": params.get("description"),
            "destination": destination,
            "destination_payment": new_id("py"),
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "reversed": False,
            "source_transaction": None,
            "source_type": "card",
            "transfer_group": params.get("transfer_group"),
        }
        self.transfers[transfer["id"]] = transfer
        self._emit("transfer.created", transfer)
        return transfer

    def _balance(self, request: Request, params: Params) -> Params:
        return balance_object(self.available, self.pending)

    def _list_events(self, request: Request, params: Params) -> Params:
        limit = integer(params, "limit", minimum=1, maximum=100) if "limit" in params else 10
        wanted = event_filter(params)
        matching = [event for event in reversed(self.events) if wanted(event)]
        start = 0
        cursor = params.get("starting_after")
        if cursor:
            ids = [event["id"] for event in matching]
            if cursor not in ids:
                raise Failure(
                    400,
                    f"No such event: '{cursor}'",
                    code="resource_missing",
                    param="starting_after",
                )
            start = ids.index(cursor) + 1
        return {
            "object": "list",
            "data": matching[start : start + limit],
            "has_more": len(matching) > start + limit,
            "url": "/v1/events",
        }

    async def _checkout_page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["session_id"])
        if session is None or session["status"] != "open":
            return HTMLResponse("<h1>This Checkout Session is no longer active.</h1>", 404)
        if request.method == "POST":
            self.deliveries.append(self.checkout_completed_delivery(session["id"]))
            target = str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
            return RedirectResponse(target, status_code=303)
        amount = money(session["amount_total"], session["currency"])
        return HTMLResponse(
            f"<h1>Stripe sandbox checkout</h1><p>Pay {escape(amount)}</p>"
            f'<form method="post"><button type="submit">Pay</button></form>'
        )

    async def _unrecognized(self, request: Request, exc: Exception) -> Response:
        return json_response(404, unrecognized_url(request.method, request.url.path))

    # State

    def _seed(self) -> None:
        """Two paid intents and their events, older than anything a test creates."""
        start = int(self.clock()) - 6 * 3600
        for offset, amount in ((0, 12_000), (3600, 4_500)):
            payment = self._new_payment(amount, "usd", {}, created=start + offset)
            intent = {"id": payment.intent_id, "object": "payment_intent", "amount": amount}
            self._emit("payment_intent.succeeded", intent, created=start + offset)
            charge = {"id": payment.charge_id, "object": "charge", "amount": amount}
            self._emit("charge.succeeded", charge, created=start + offset)
        self._emit(
            "balance.available",
            balance_object(self.available, self.pending),
            created=start + 2 * 3600,
        )

    def _new_payment(
        self, amount: int, currency: str, metadata: dict[str, Any], *, created: int | None = None
    ) -> _Payment:
        payment = _Payment(
            intent_id=new_id("pi"),
            charge_id=new_id("ch"),
            amount=amount,
            currency=currency,
            metadata=dict(metadata),
            created=int(self.clock()) if created is None else created,
        )
        self.payments[payment.intent_id] = payment
        return payment

    def _emit(self, event_type: str, obj: Params, *, created: int | None = None) -> Params:
        event: Params = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": int(self.clock()) if created is None else created,
            "data": {"object": json.loads(json.dumps(obj))},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.events.append(event)
        return event


def create_sandbox(**options: Any) -> StripeSandbox:
    return StripeSandbox(**options)
