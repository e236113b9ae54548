"""Payments through Stripe: Checkout and invoices for clients, subscriptions for retainers,
refunds, and Stripe Connect (Express accounts, transfers, bank accounts and payouts) for users."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from gigforge.integrations.framework import (
    CheckoutRequest,
    ConnectedPayouts,
    IntegrationError,
    Payments,
    Permanent,
    Transient,
    WebhookEvent,
)
from gigforge.integrations.framework.payments import (
    BalanceEntry,
    BankAccountRequest,
    ConnectedAccount,
    Customer,
    ExternalBankAccount,
    InvoiceRequest,
    PaymentEvent,
    PayoutRequest,
    PayoutSpeed,
    ProviderInvoice,
    ProviderPayout,
    ProviderSubscription,
    SubscriptionRequest,
    Transfer,
    TransferReversal,
)
from gigforge.integrations.stripe.errors import StripeAPIError, StripePayloadError
from gigforge.integrations.stripe.mapping import (
    StripeCheckoutSession,
    StripeErrorBody,
    StripeEvent,
    StripePayout,
    StripeRefund,
    checkout_params,
    encode_form,
    error_body,
    parse_error,
    refund_params,
    to_balance,
    to_checkout_session,
    to_event,
    to_payout,
    to_refund,
    transfer_params,
)
from gigforge.integrations.stripe.mapping_billing import (
    REFERENCE_KEY,
    account_link_params,
    account_params,
    bank_account_params,
    customer_params,
    invoice_item_params,
    invoice_params,
    payout_params,
    price_params,
    reference_of,
    reversal_params,
    subscription_params,
    to_account,
    to_balance_entry,
    to_bank_account,
    to_customer,
    to_invoice,
    to_provider_payout,
    to_subscription,
    to_transfer,
    to_transfer_reversal,
)
from gigforge.integrations.stripe.mapping_events import to_payment_event
from gigforge.integrations.stripe.spec import SPEC, StripeConfig
from gigforge.integrations.stripe.webhooks import DEFAULT_TOLERANCE_SECONDS, construct_event

MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_PAGE_SIZE = 100


class StripeConnector(Payments, ConnectedPayouts):
    """One Stripe account (a Connect platform), reached with its secret key.

    The policy layer puts `Authorization: Bearer sk_...` on each request. Every POST carries
    an `Idempotency-Key` (https://docs.stripe.com/api/idempotent_requests), which is what lets
    the policy layer retry it: Stripe answers a retry with the saved response of the first
    attempt instead of charging, refunding or transferring twice. Calls made on a connected
    account (its payouts, its balance) carry `Stripe-Account: acct_...`.
    """

    spec = SPEC
    config: StripeConfig
    payout_speeds: ClassVar[frozenset[PayoutSpeed]] = frozenset(
        {PayoutSpeed.standard, PayoutSpeed.instant}
    )

    def __init__(self, client: httpx.AsyncClient, config: StripeConfig) -> None:
        super().__init__(client, config)

    async def test(self) -> dict[str, Any]:
        balance = to_balance(await self._call("GET", "/v1/balance"))
        return {
            "livemode": balance.livemode,
            "available_currencies": sorted(balance.available),
            "pending_currencies": sorted(balance.pending),
        }

    async def create_checkout(self, request: CheckoutRequest) -> StripeCheckoutSession:
        raw = await self._call(
            "POST",
            "/v1/checkout/sessions",
            form=checkout_params(request),
            idempotency_key=request.reference,
        )
        return to_checkout_session(raw)

    async def refund(
        self, payment_id: str, *, amount_minor: int, idempotency_key: str
    ) -> StripeRefund:
        raw = await self._call(
            "POST",
            "/v1/refunds",
            form=refund_params(payment_id, amount_minor),
            idempotency_key=idempotency_key,
        )
        return to_refund(raw)

    async def payout(
        self,
        *,
        amount_minor: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        transfer_group: str | None = None,
    ) -> StripePayout:
        """Move funds from the platform balance to a connected account (`acct_...`).

        Kept for callers written before `transfer`: Stripe Connect calls this a transfer, and
        the connected account's own payouts then take the money to its bank.
        """
        raw = await self._transfer(
            amount_minor=amount_minor,
            currency=currency,
            destination=destination,
            transfer_group=transfer_group,
            idempotency_key=idempotency_key,
            reference=None,
        )
        return to_payout(raw)

    # Billing

    async def create_customer(self, *, email: str, name: str, reference: str) -> Customer:
        raw = await self._call(
            "POST",
            "/v1/customers",
            form=customer_params(email=email, name=name, reference=reference),
            idempotency_key=f"cus-{reference}",
        )
        return to_customer(raw)

    async def create_invoice(self, request: InvoiceRequest) -> ProviderInvoice:
        """Draft, items, finalize and (when asked) send: four steps, each with its own
        deterministic idempotency key, so rerunning the whole method after a crash at any
        step replays the steps already done and creates nothing twice."""
        reference = request.reference
        draft = await self._call(
            "POST", "/v1/invoices", form=invoice_params(request), idempotency_key=f"inv-{reference}"
        )
        invoice_id = _required_id(draft, "invoice")
        for key, item in invoice_item_params(request, invoice_id):
            await self._call("POST", "/v1/invoiceitems", form=item, idempotency_key=key)
        raw = await self._call(
            "POST",
            f"/v1/invoices/{invoice_id}/finalize",
            form={},
            idempotency_key=f"fin-{reference}",
        )
        if request.send:
            raw = await self._call(
                "POST",
                f"/v1/invoices/{invoice_id}/send",
                form={},
                idempotency_key=f"send-{reference}",
            )
        return to_invoice(raw)

    async def get_invoice(self, invoice_id: str) -> ProviderInvoice:
        return to_invoice(await self._call("GET", f"/v1/invoices/{_segment(invoice_id)}"))

    async def void_invoice(self, invoice_id: str) -> ProviderInvoice:
        raw = await self._call(
            "POST",
            f"/v1/invoices/{_segment(invoice_id)}/void",
            form={},
            idempotency_key=f"void-{invoice_id}",
        )
        return to_invoice(raw)

    async def create_subscription(self, request: SubscriptionRequest) -> ProviderSubscription:
        price = await self._call(
            "POST",
            "/v1/prices",
            form=price_params(request),
            idempotency_key=f"price-{request.reference}",
        )
        raw = await self._call(
            "POST",
            "/v1/subscriptions",
            form=subscription_params(request, _required_id(price, "price")),
            idempotency_key=f"sub-{request.reference}",
        )
        return to_subscription(raw)

    async def cancel_subscription(self, subscription_id: str) -> ProviderSubscription:
        """Cancel now. Cancelling one already cancelled (a retry after a lost answer) returns
        it as it is instead of failing."""
        path = f"/v1/subscriptions/{_segment(subscription_id)}"
        try:
            raw = await self._call("DELETE", path)
        except StripeAPIError as exc:
            if exc.upstream_status != 400:
                raise
            current = await self._call("GET", path)
            if current.get("status") != "canceled":
                raise
            raw = current
        return to_subscription(raw)

    # Events and balance history

    def interpret(self, event: WebhookEvent) -> PaymentEvent:
        return to_payment_event(event)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> StripeEvent:
        return construct_event(
            headers,
            body,
            self.config.webhook_secret.get_secret_value(),
            tolerance=DEFAULT_TOLERANCE_SECONDS,
        )

    async def events(
        self,
        *,
        types: Sequence[str] = (),
        created_after: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[StripeEvent]:
        """Events of the last 30 days, newest first: what catches up after missed webhooks.

        Pages follow Stripe's cursor: `starting_after` is the last id of the previous page,
        until `has_more` is false (https://docs.stripe.com/api/pagination).
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        query: dict[str, Any] = {
            "limit": page_size,
            "types": list(types) or None,
            "created": {"gt": int(created_after.timestamp())} if created_after else None,
        }
        while True:
            page = await self._call("GET", "/v1/events", query=query)
            data = page.get("data")
            if not isinstance(data, list):
                raise StripePayloadError("Stripe list without `data`", integration=SPEC.slug)
            for raw in data:
                yield to_event(raw)
            if not page.get("has_more") or not data:
                return
            query["starting_after"] = data[-1]["id"]

    async def recent_events(
        self, *, created_after: datetime | None = None
    ) -> AsyncIterator[WebhookEvent]:
        async for event in self.events(created_after=created_after):
            yield event

    async def balance_entries(
        self, *, created_after: datetime | None = None, account: str | None = None
    ) -> AsyncIterator[BalanceEntry]:
        """The balance history, newest first, with each entry's source expanded so our
        reference comes along (https://docs.stripe.com/api/balance_transactions/list)."""
        query: dict[str, Any] = {
            "created": {"gt": int(created_after.timestamp())} if created_after else None,
            "expand": ["data.source"],
        }
        async for raw in self._list("/v1/balance_transactions", query, stripe_account=account):
            yield to_balance_entry(raw)

    # Connect

    async def create_account(self, *, email: str, country: str, reference: str) -> ConnectedAccount:
        raw = await self._call(
            "POST",
            "/v1/accounts",
            form=account_params(email=email, country=country, reference=reference),
            idempotency_key=f"acct-{reference}",
        )
        return to_account(raw)

    async def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        """Account links are single-use and expire within minutes, so none is cached and no
        idempotency key ties a new one to an old one."""
        raw = await self._call(
            "POST",
            "/v1/account_links",
            form=account_link_params(account_id, refresh_url=refresh_url, return_url=return_url),
        )
        url = raw.get("url")
        if not isinstance(url, str) or not url:
            raise StripePayloadError("Stripe account link without `url`", integration=SPEC.slug)
        return url

    async def get_account(self, account_id: str) -> ConnectedAccount:
        return to_account(await self._call("GET", f"/v1/accounts/{_segment(account_id)}"))

    async def transfer(
        self,
        *,
        amount_minor: int,
        currency: str,
        destination: str,
        transfer_group: str | None,
        reference: str,
    ) -> Transfer:
        raw = await self._transfer(
            amount_minor=amount_minor,
            currency=currency,
            destination=destination,
            transfer_group=transfer_group,
            idempotency_key=reference,
            reference=reference,
        )
        return to_transfer(raw)

    async def reverse_transfer(
        self, transfer_id: str, *, amount_minor: int, reference: str
    ) -> TransferReversal:
        """Stripe refuses a reversal beyond what is left of the transfer, or beyond the
        connected account's balance, with a 400 that arrives here as `StripeAPIError`."""
        raw = await self._call(
            "POST",
            f"/v1/transfers/{_segment(transfer_id)}/reversals",
            form=reversal_params(amount_minor=amount_minor, reference=reference),
            idempotency_key=reference,
        )
        return to_transfer_reversal(raw)

    async def add_bank_account(
        self, account_id: str, request: BankAccountRequest
    ) -> ExternalBankAccount:
        raw = await self._call(
            "POST",
            f"/v1/accounts/{_segment(account_id)}/external_accounts",
            form=bank_account_params(request),
            idempotency_key=f"ba-{request.reference}",
        )
        return to_bank_account(raw)

    async def create_payout(self, request: PayoutRequest) -> ProviderPayout:
        if request.speed not in self.payout_speeds:
            raise self.not_supported("payout", f"Stripe has no {request.speed} payouts")
        raw = await self._call(
            "POST",
            "/v1/payouts",
            form=payout_params(request),
            idempotency_key=request.reference,
            stripe_account=request.account_id,
        )
        return to_provider_payout(raw)

    async def find_payout(self, account_id: str, reference: str) -> ProviderPayout | None:
        """Stripe cannot search payouts by metadata, so the account's payouts are read newest
        first until one carries the reference."""
        async for raw in self._list("/v1/payouts", {}, stripe_account=account_id):
            if reference_of(raw) == reference:
                return to_provider_payout(raw)
        return None

    async def _transfer(
        self,
        *,
        amount_minor: int,
        currency: str,
        destination: str,
        transfer_group: str | None,
        idempotency_key: str,
        reference: str | None,
    ) -> dict[str, Any]:
        form = transfer_params(
            amount_minor=amount_minor,
            currency=currency,
            destination=destination,
            transfer_group=transfer_group,
        )
        if reference is not None:
            form["metadata"] = {REFERENCE_KEY: reference}
        return await self._call("POST", "/v1/transfers", form=form, idempotency_key=idempotency_key)

    async def _list(
        self,
        path: str,
        query: Mapping[str, Any],
        *,
        stripe_account: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every object of a list endpoint, following `starting_after` until `has_more` is false."""
        params: dict[str, Any] = {"limit": page_size, **query}
        while True:
            page = await self._call("GET", path, query=params, stripe_account=stripe_account)
            data = page.get("data")
            if not isinstance(data, list):
                raise StripePayloadError("Stripe list without `data`", integration=SPEC.slug)
            for raw in data:
                if not isinstance(raw, dict):
                    raise StripePayloadError(
                        f"Stripe list {path} holds a non-object", integration=SPEC.slug
                    )
                yield raw
            if not page.get("has_more") or not data:
                return
            params["starting_after"] = _required_id(data[-1], "list item")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        stripe_account: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Stripe-Version": self.config.api_version}
        if stripe_account is not None:
            headers["Stripe-Account"] = stripe_account
        content: bytes | None = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            content = urlencode(encode_form(form)).encode()
        if idempotency_key is not None:
            if not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
                raise Permanent(
                    f"Stripe idempotency keys are 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
                    integration=SPEC.slug,
                )
            headers["Idempotency-Key"] = idempotency_key
        try:
            response = await self.client.request(
                method,
                path,
                params=tuple(encode_form(query)) if query else None,
                content=content,
                headers=headers,
            )
        except Permanent as exc:
            rejection = _from_rejection(exc)
            if rejection is None:
                raise
            raise rejection from exc
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise StripePayloadError(
                f"Stripe answered {method} {path} with a body that is not a JSON object",
                integration=SPEC.slug,
                status=response.status_code,
            )
        error = payload.get("error")
        if isinstance(error, Mapping):
            raise _api_error(error_body(error), status=response.status_code)
        return payload


def _required_id(raw: Mapping[str, Any], kind: str) -> str:
    value = raw.get("id")
    if not isinstance(value, str) or not value:
        raise StripePayloadError(f"Stripe {kind} without `id`", integration=SPEC.slug)
    return value


def _segment(object_id: str) -> str:
    """An id as one path segment: Stripe ids are `prefix_alphanumerics`, never slashes."""
    if not object_id or not object_id.replace("_", "").isalnum():
        raise Permanent(f"not a Stripe object id: {object_id!r}", integration=SPEC.slug)
    return object_id


def _from_rejection(exc: Permanent) -> IntegrationError | None:
    """Put Stripe's own words on a 4xx the policy layer turned into `Permanent`; None when the
    body is not Stripe's error envelope.

    A 409 means the request conflicts with another one, typically one with the same
    idempotency key still in flight (https://docs.stripe.com/error-low-level); Stripe's own
    libraries retry 409s (stripe-node `RequestSender`), so it becomes `Transient` here.
    """
    body = exc.extensions.get("body")
    error = parse_error(body) if isinstance(body, str) else None
    if exc.upstream_status == 409:
        message = error.message if error and error.message else exc.detail
        return Transient(f"Stripe: {message}", integration=SPEC.slug, status=409)
    if error is None:
        return None
    return _api_error(error, status=exc.upstream_status)


def _api_error(error: StripeErrorBody, *, status: int | None) -> StripeAPIError:
    message = error.message or f"request failed ({error.type or 'unknown error'})"
    return StripeAPIError(
        f"Stripe: {message}",
        integration=SPEC.slug,
        status=status,
        stripe_type=error.type,
        stripe_code=error.code,
        stripe_param=error.param,
        stripe_message=error.message,
        doc_url=error.doc_url,
        decline_code=error.decline_code,
    )
