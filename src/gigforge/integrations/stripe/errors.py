"""Stripe's failures in the framework's error tree, keeping what Stripe said about them."""

from __future__ import annotations

from typing import Any

from gigforge.integrations.framework import Permanent


class StripeAPIError(Permanent):
    """Stripe refused a request (https://docs.stripe.com/api/errors).

    `stripe_type`, `stripe_code` and `stripe_param` are what a caller can act on (for example
    `balance_insufficient` before a transfer); `detail` carries Stripe's own message.
    """

    def __init__(
        self,
        detail: str,
        *,
        integration: str,
        status: int | None,
        stripe_type: str | None = None,
        stripe_code: str | None = None,
        stripe_param: str | None = None,
        stripe_message: str | None = None,
        doc_url: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        self.stripe_type = stripe_type
        self.stripe_code = stripe_code
        self.stripe_param = stripe_param
        self.stripe_message = stripe_message
        self.doc_url = doc_url
        self.decline_code = decline_code
        extensions: dict[str, Any] = {
            key: value
            for key, value in {
                "stripe_type": stripe_type,
                "stripe_code": stripe_code,
                "stripe_param": stripe_param,
                "stripe_message": stripe_message,
                "doc_url": doc_url,
                "decline_code": decline_code,
            }.items()
            if value is not None
        }
        super().__init__(detail, integration=integration, status=status, **extensions)


class StripePayloadError(Permanent):
    """Stripe answered with something that is not the documented object; retrying won't help."""

    code = "integration-unexpected-payload"
    title = "The third-party service answered with an unexpected payload"


class WebhookSignatureError(Permanent):
    """The delivery is not provably from Stripe, or is too old or too new to trust.

    Rendered as 400 to the sender: Stripe retries a failed delivery, a forger learns nothing.
    """

    status_code = 400
    code = "integration-webhook-signature"
    title = "The webhook signature could not be verified"


class WebhookPayloadError(Permanent):
    status_code = 400
    code = "integration-webhook-payload"
    title = "The webhook body is not a Stripe event"


class WebhookReplayError(Permanent):
    """An event id seen before arrived again inside the signature tolerance window.

    Stripe treats any non-2xx answer as a failed delivery and retries it, so a route that has
    already processed the event may acknowledge this error with a 2xx instead of rendering it.
    """

    status_code = 409
    code = "integration-webhook-replay"
    title = "The webhook event was already received"
