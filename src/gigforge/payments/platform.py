"""The platform's payment account: the provider clients pay through and users are paid from.

Gigforge runs as a platform in Stripe Connect's sense (seed 002): clients pay the platform's
account, the platform keeps its fee and transfers the rest to the user's connected account,
whose payouts take it to the user's bank. The operator configures the account once
(`GIGFORGE_PAYMENTS_*`); in sandbox mode it is the provider's sandbox with the sandbox's keys.
Connectors come from the registry, by the provider's slug, through the policy layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from gigforge.connections.context import IntegrationContext
from gigforge.integrations.framework import (
    Capability,
    ConnectedPayouts,
    HeaderCredentials,
    Payments,
    static_secret,
)
from gigforge.integrations.framework.payments import PayoutSpeed
from gigforge.integrations.sandboxes import sandbox_base_url, sandbox_platform_config
from gigforge.payments.errors import PaymentsNotConfigured

PLATFORM_CONNECTION = "platform-payments"


@dataclass
class PaymentsPlatform:
    context: IntegrationContext
    provider: str
    fee_bps: int
    config: BaseModel | None = None
    secret: str | None = field(default=None, repr=False)
    base_url: str | None = None
    #: Why payments are off, for the dashboard and the API's 503.
    reason: str | None = None

    @classmethod
    def from_context(cls, context: IntegrationContext) -> PaymentsPlatform:
        settings = context.settings
        provider = settings.payments_provider
        platform = cls(context=context, provider=provider, fee_bps=settings.platform_fee_bps)
        if provider not in {
            spec.slug for spec in context.registry.with_capability(Capability.payments)
        }:
            platform.reason = f"no installed integration named {provider!r} takes payments"
            return platform
        values: dict[str, Any] = {}
        base_url = settings.payments_base_url
        if settings.payments_secret_key is None:
            sandbox = sandbox_platform_config(context, provider)
            if sandbox is None:
                platform.reason = (
                    "set GIGFORGE_PAYMENTS_SECRET_KEY and GIGFORGE_PAYMENTS_WEBHOOK_SECRET "
                    "(or run in sandbox mode)"
                )
                return platform
            values.update(sandbox)
            base_url = base_url or sandbox_base_url(context, provider)
        else:
            values["secret_key"] = settings.payments_secret_key.get_secret_value()
            if settings.payments_webhook_secret is not None:
                values["webhook_secret"] = settings.payments_webhook_secret.get_secret_value()
        spec = context.spec_for(provider)
        try:
            platform.config = spec.config_model.model_validate(values)
        except ValidationError as exc:
            fields = ", ".join(str(error["loc"][0]) for error in exc.errors() if error["loc"])
            platform.reason = f"the payment provider's settings are not valid ({fields})"
            return platform
        credential = spec.credential_field
        platform.secret = str(values.get(credential or "", "")) or None
        platform.base_url = base_url
        return platform

    @property
    def configured(self) -> bool:
        return self.config is not None

    def payments(self) -> Payments:
        """A connector for one piece of work: use it as `async with connector.client:`."""
        connector = self._connector()
        if not isinstance(connector, Payments):
            raise PaymentsNotConfigured(f"{self.provider} does not take payments")
        return connector

    def payouts(self) -> ConnectedPayouts:
        connector = self._connector()
        if not isinstance(connector, ConnectedPayouts):
            raise PaymentsNotConfigured(f"{self.provider} does not pay out to connected accounts")
        return connector

    def _connector(self) -> Any:
        if self.config is None or self.secret is None:
            raise PaymentsNotConfigured(f"Payments are off: {self.reason}")
        spec = self.context.spec_for(self.provider, self.base_url)
        client = self.context.runtime.client(
            spec,
            connection=PLATFORM_CONNECTION,
            credentials=HeaderCredentials(
                static_secret(self.secret),
                header=spec.credential_header,
                scheme=spec.credential_scheme,
            ),
        )
        return self.context.registry.get(self.provider)(client, self.config)

    @property
    def payout_speeds(self) -> frozenset[PayoutSpeed]:
        """The payout speeds the provider offers (none when payments are off)."""
        if not self.configured:
            return frozenset()
        connector_class = self.context.registry.get(self.provider)
        speeds: frozenset[PayoutSpeed] = getattr(connector_class, "payout_speeds", frozenset())
        return speeds

    def platform_fee(self, amount_minor: int) -> int:
        """The platform's share of a payment, rounded half up to the minor unit."""
        return (amount_minor * self.fee_bps + 5_000) // 10_000
