"""Stripe: Checkout, invoices, subscriptions, refunds, Connect (accounts, transfers, payouts) and
signed webhooks.

The sandbox (`gigforge.integrations.stripe.sandbox`) is imported only by tests and demo mode.
"""

from gigforge.integrations.stripe.connector import StripeConnector
from gigforge.integrations.stripe.errors import (
    StripeAPIError,
    StripePayloadError,
    WebhookPayloadError,
    WebhookReplayError,
    WebhookSignatureError,
)
from gigforge.integrations.stripe.mapping import (
    StripeBalance,
    StripeCheckoutSession,
    StripeEvent,
    StripePayout,
    StripeRefund,
    encode_form,
)
from gigforge.integrations.stripe.spec import SPEC, STRIPE_API_VERSION, StripeConfig
from gigforge.integrations.stripe.webhooks import (
    MemoryReplayGuard,
    ReplayGuard,
    StripeWebhookReceiver,
    construct_event,
    sign_payload,
    verify_signature,
)

__all__ = [
    "SPEC",
    "STRIPE_API_VERSION",
    "MemoryReplayGuard",
    "ReplayGuard",
    "StripeAPIError",
    "StripeBalance",
    "StripeCheckoutSession",
    "StripeConfig",
    "StripeConnector",
    "StripeEvent",
    "StripePayloadError",
    "StripePayout",
    "StripeRefund",
    "StripeWebhookReceiver",
    "WebhookPayloadError",
    "WebhookReplayError",
    "WebhookSignatureError",
    "construct_event",
    "encode_form",
    "sign_payload",
    "verify_signature",
]
