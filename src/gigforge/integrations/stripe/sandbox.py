"""A local Stripe for tests and demo mode: the v1 endpoints the connector calls, answered the
way Stripe answers them.

It checks the secret key (Bearer or Basic, as Stripe accepts both), form-decodes bracket
notation, keeps Stripe's idempotency rules (a replay returns the saved response with
`Idempotent-Replayed: true`; the same key with other parameters or on another endpoint is a 400
`idempotency_error`; requests that fail validation are not saved), pages lists with
`starting_after`/`has_more`, rate-limits per second like test mode, scopes calls made with
`Stripe-Account` to that connected account (its balance, payouts and events; an account the
platform does not have is a 403 `account_invalid`), and renders every failure in Stripe's
`{"error": {...}}` envelope.

Billing (customers, invoices, prices, subscriptions) lives in `_sandbox_billing`, Connect
(accounts, onboarding, bank accounts, payouts) in `_sandbox_connect`, and the money model
(payments and their fees, refunds, disputes, transfers and their reversals, balance
history) in `_sandbox_money`.
Hosted pages a person can use: Checkout at `/c/pay/<id>`, the invoice at `/i/<id>` and Express
onboarding at `/connect/onboarding/<link>`; their URLs are built from the request's base URL,
so they work where the app mounts the sandbox (`/sandbox/stripe`).

Every event is kept (`GET /v1/events`) and signed into `outbox` as the webhook delivery Stripe
would make; when `webhook_target` is set it is awaited with each one. Money settles at once
here (Stripe's test mode makes card funds pending first).
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
from gigforge.integrations.stripe._sandbox_billing import Billing
from gigforge.integrations.stripe._sandbox_connect import Connect
from gigforge.integrations.stripe._sandbox_money import Money, Payment
from gigforge.integrations.stripe._sandbox_wire import (
    NO_API_KEY,
    RATE_LIMITED,
    Failure,
    Params,
    account_invalid,
    balance_object,
    decode_form,
    error_envelope,
    event_filter,
    hosted_base,
    idempotency_mismatch,
    integer,
    json_response,
    line_items_total,
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
#: The platform account sandbox mode uses for payments (see `integrations.sandboxes`).
PLATFORM_CONFIG = {"secret_key": SANDBOX_SECRET_KEY, "webhook_secret": SANDBOX_WEBHOOK_SECRET}
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


@dataclass(frozen=True)
class _Saved:
    path: str
    fingerprint: tuple[tuple[str, str], ...]
    status: int
    body: dict[str, Any]


class StripeSandbox:
    """One Stripe platform account in memory, seeded with an onboarded connected account, a
    balance, two paid PaymentIntents and their events.

    `received` records every API request so tests can check headers and encoding; `outbox`
    holds every emitted event as a signed webhook delivery (`deliveries` only those the
    checkout page produced, as before). Test controls (`pay_invoice`, `refund_payment`,
    `open_dispute`, `close_dispute`, `settle_payout`) do what a client, a bank or a card
    network would, and emit the events Stripe would.
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
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Params] = {}
        self.transfers: dict[str, Params] = {}
        self.events: list[Params] = []
        self.deliveries: list[WebhookDelivery] = []
        self.outbox: list[WebhookDelivery] = []
        self.webhook_target: Callable[[WebhookDelivery], Awaitable[None]] | None = None
        # Payouts turn `paid` (or `failed`, for Stripe's failing test IBANs) as soon as they
        # are created; set False to settle them with `settle_payout`.
        self.auto_settle_payouts = True
        self.objects: dict[str, Params] = {}
        self.accounts: dict[str, Params] = {}
        self.available: dict[str, int] = {}
        self.pending: dict[str, int] = {"usd": 12_500}
        self.balances: dict[str, dict[str, int]] = {}
        self.balance_transactions: dict[str | None, list[Params]] = {}
        self.payouts_of: dict[str | None, list[Params]] = {}
        self.money = Money(self)
        self.billing = Billing(self)
        self.connect = Connect(self)
        self._undelivered: list[WebhookDelivery] = []
        self._session_intent_metadata: dict[str, dict[str, Any]] = {}
        self._idempotency: dict[str, _Saved] = {}
        self._window = -1
        self._window_count = 0
        self._seed()
        money, billing, connect = self.money, self.billing, self.connect
        api = self._api
        routes = [
            Route("/v1/checkout/sessions", api(self._create_session), methods=["POST"]),
            Route("/v1/refunds", api(money.create_refund), methods=["POST"]),
            Route("/v1/transfers", api(money.create_transfer), methods=["POST"]),
            Route(
                "/v1/transfers/{transfer_id}/reversals",
                api(money.create_reversal),
                methods=["POST"],
            ),
            Route("/v1/balance", api(self._balance), methods=["GET"]),
            Route("/v1/balance_transactions", api(money.list_balance_transactions)),
            Route("/v1/events", api(self._list_events), methods=["GET"]),
            Route("/v1/customers", api(billing.create_customer), methods=["POST"]),
            Route("/v1/customers/{customer_id}", api(billing.get_customer), methods=["GET"]),
            Route("/v1/invoices", api(billing.create_invoice), methods=["POST"]),
            Route("/v1/invoices/{invoice_id}", api(billing.get_invoice), methods=["GET"]),
            Route("/v1/invoices/{invoice_id}/finalize", api(billing.finalize), methods=["POST"]),
            Route("/v1/invoices/{invoice_id}/send", api(billing.send), methods=["POST"]),
            Route("/v1/invoices/{invoice_id}/void", api(billing.void), methods=["POST"]),
            Route("/v1/invoiceitems", api(billing.create_invoice_item), methods=["POST"]),
            Route("/v1/prices", api(billing.create_price), methods=["POST"]),
            Route("/v1/subscriptions", api(billing.create_subscription), methods=["POST"]),
            Route("/v1/subscriptions/{subscription_id}", api(billing.get_subscription)),
            Route(
                "/v1/subscriptions/{subscription_id}",
                api(billing.cancel_subscription),
                methods=["DELETE"],
            ),
            Route("/v1/accounts", api(connect.create_account), methods=["POST"]),
            Route("/v1/accounts/{account_id}", api(connect.get_account), methods=["GET"]),
            Route(
                "/v1/accounts/{account_id}/external_accounts",
                api(connect.add_external_account),
                methods=["POST"],
            ),
            Route("/v1/account_links", api(connect.create_link), methods=["POST"]),
            Route("/v1/payouts", api(connect.create_payout), methods=["POST"]),
            Route("/v1/payouts", api(connect.list_payouts), methods=["GET"]),
            Route("/v1/payouts/{payout_id}", api(connect.get_payout), methods=["GET"]),
            Route("/c/pay/{session_id}", self._checkout_page, methods=["GET", "POST"]),
            Route("/i/{invoice_id}", billing.invoice_page, methods=["GET", "POST"]),
            Route(
                "/connect/onboarding/{link_id}", connect.onboarding_page, methods=["GET", "POST"]
            ),
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
        payment = self.money.new_payment(
            session["amount_total"],
            session["currency"],
            self._session_intent_metadata.get(session_id, {}),
        )
        session.update(
            status="complete", payment_status="paid", payment_intent=payment.intent_id, url=None
        )
        self.money.announce(payment)
        return self.emit("checkout.session.completed", session)

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

    # Test controls: what a client, a card network or a bank does, with Stripe's events

    async def pay_invoice(self, invoice_id: str) -> Params:
        """The client pays an open invoice on its hosted page."""
        invoice = self.billing.pay_invoice(invoice_id)
        await self.flush_webhooks()
        return invoice

    async def refund_payment(self, payment_id: str, amount: int | None = None) -> Params:
        """A refund made from the Dashboard (all that is left of the payment by default)."""
        payment = self.money.find(payment_id)
        if payment is None:
            raise ValueError(f"no payment {payment_id!r} in the sandbox")
        remaining = payment.amount - payment.refunded
        try:
            refund = self.money.refund(
                payment, remaining if amount is None else amount, metadata={}
            )
        except Failure as failure:
            raise ValueError(str(failure)) from None
        await self.flush_webhooks()
        return refund

    async def open_dispute(self, payment_intent_id: str, *, reason: str = "fraudulent") -> Params:
        """The cardholder disputes the payment: the amount and a 15.00 fee are withdrawn."""
        dispute = self.money.open_dispute(payment_intent_id, reason=reason)
        await self.flush_webhooks()
        return dispute

    async def close_dispute(self, dispute_id: str, *, won: bool) -> Params:
        dispute = self.money.close_dispute(dispute_id, won=won)
        await self.flush_webhooks()
        return dispute

    async def settle_payout(
        self, payout_id: str, *, ok: bool = True, failure: str = "could_not_process"
    ) -> Params:
        """The bank's answer to a pending payout (with `auto_settle_payouts` off)."""
        payout = self.connect.settle(payout_id, ok=ok, failure=failure)
        await self.flush_webhooks()
        return payout

    def add_connected_account(
        self, *, email: str = "studio@example.com", country: str = "US", onboarded: bool = True
    ) -> str:
        """Another connected account, onboarded unless asked otherwise; returns its id."""
        return str(
            self.connect.add_account(
                new_id("acct"), email=email, country=country, onboarded=onboarded
            )["id"]
        )

    async def flush_webhooks(self) -> None:
        """Hand each delivery not yet handed over to `webhook_target`, in order."""
        while self._undelivered:
            delivery = self._undelivered.pop(0)
            if self.webhook_target is not None:
                await self.webhook_target(delivery)

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
            account = request.headers.get("stripe-account")
            try:
                self._admit(request)
                if account is not None and account not in self.accounts:
                    raise account_invalid(self.secret_key, account)
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
                # Stripe keeps idempotency keys per account.
                key = f"{account or ''}:{key}"
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
            await self.flush_webhooks()
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
            shown = key.partition(":")[2]
            return json_response(400, idempotency_mismatch(shown, path, other_path))
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
            "url": f"{hosted_base(request)}c/pay/{session_id}",
        }
        intent_data = params.get("payment_intent_data")
        if isinstance(intent_data, dict) and isinstance(intent_data.get("metadata"), dict):
            self._session_intent_metadata[session_id] = intent_data["metadata"]
        self.sessions[session_id] = session
        return session

    def _balance(self, request: Request, params: Params) -> Params:
        return balance_object(self.available, self.pending)

    def _list_events(self, request: Request, params: Params) -> Params:
        limit = integer(params, "limit", minimum=1, maximum=100) if "limit" in params else 10
        wanted = event_filter(params)
        account = request.headers.get("stripe-account")
        matching = [
            event
            for event in reversed(self.events)
            if event.get("account") == account and wanted(event)
        ]
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
            await self.flush_webhooks()
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
        """An onboarded connected account, a top-up, and two paid intents with their events,
        all older than anything a test creates. Seeded events are history: never delivered."""
        start = int(self.clock()) - 6 * 3600
        self.connect.add_account(
            SANDBOX_CONNECTED_ACCOUNT, email="studio@example.com", country="US", onboarded=True
        )
        self.money.book(
            None, amount=250_000, currency="usd", kind="topup", source=None, created=start
        )
        for offset, amount in ((0, 12_000), (3600, 4_500)):
            payment = self.money.new_payment(amount, "usd", {}, created=start + offset)
            self.money.announce(payment, created=start + offset, deliver=False)
        self.emit(
            "balance.available",
            balance_object(self.available, self.pending),
            created=start + 2 * 3600,
            deliver=False,
        )

    def emit(
        self,
        event_type: str,
        obj: Params,
        *,
        created: int | None = None,
        account: str | None = None,
        previous: Params | None = None,
        deliver: bool = True,
    ) -> Params:
        """Record an event as Stripe renders it (a snapshot of the object; `account` on
        events of a connected account) and sign it into the outbox."""
        data: Params = {"object": json.loads(json.dumps(obj))}
        if previous is not None:
            data["previous_attributes"] = json.loads(json.dumps(previous))
        event: Params = {
            "id": new_id("evt"),
            "object": "event",
            **({"account": account} if account is not None else {}),
            "api_version": STRIPE_API_VERSION,
            "created": int(self.clock()) if created is None else created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.events.append(event)
        if deliver:
            delivery = self.deliver(event)
            self.outbox.append(delivery)
            self._undelivered.append(delivery)
        return event


def create_sandbox(**options: Any) -> StripeSandbox:
    return StripeSandbox(**options)
