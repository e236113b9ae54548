"""Payments through Stripe: Checkout for clients, refunds, and Connect transfers as payouts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from gigforge.integrations.framework import (
    CheckoutRequest,
    IntegrationError,
    Payments,
    Permanent,
    Transient,
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
from gigforge.integrations.stripe.spec import SPEC, StripeConfig
from gigforge.integrations.stripe.webhooks import DEFAULT_TOLERANCE_SECONDS, construct_event

MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_PAGE_SIZE = 100


class StripeConnector(Payments):
    """One Stripe account, reached with its secret key.

    The policy layer puts `Authorization: Bearer sk_...` on each request. Every POST carries
    an `Idempotency-Key` (https://docs.stripe.com/api/idempotent_requests), which is what lets
    the policy layer retry it: Stripe answers a retry with the saved response of the first
    attempt instead of charging, refunding or transferring twice.
    """

    spec = SPEC
    config: StripeConfig

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

        Stripe Connect calls this a transfer; the connected account's own payout schedule then
        takes the money to its bank. `transfer_group` ties it to the charges it pays out of.
        """
        raw = await self._call(
            "POST",
            "/v1/transfers",
            form=transfer_params(
                amount_minor=amount_minor,
                currency=currency,
                destination=destination,
                transfer_group=transfer_group,
            ),
            idempotency_key=idempotency_key,
        )
        return to_payout(raw)

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

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Stripe-Version": self.config.api_version}
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
