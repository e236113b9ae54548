"""Helpers the Salesforce tests share: the clock, tokens that renew as Salesforce's do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from gigforge.integrations.framework import HeaderCredentials, TokenRefresher, static_secret
from gigforge.integrations.salesforce import SalesforceConnector
from gigforge.integrations.salesforce.sandbox import SalesforceSandbox

SANDBOX_URL = "http://sandbox"


class Clock:
    """The org's time and the connector's: still unless a test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


ConnectorFactory = Callable[..., SalesforceConnector]


def bearer(sandbox: SalesforceSandbox) -> HeaderCredentials:
    return HeaderCredentials(
        static_secret(str(sandbox.oauth.issue("api refresh_token")["access_token"]))
    )


class SalesforceTokens(TokenRefresher):
    """Renews at the sandbox's token endpoint as `connections` does; Salesforce answers a
    refresh without a new refresh token, so the one held stays."""

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        issued = sandbox.oauth.issue("api refresh_token")
        self.sandbox = sandbox
        self.access = str(issued["access_token"])
        self.refresh = str(issued["refresh_token"])
        self.answers: list[dict[str, object]] = []

    async def access_token(self) -> str:
        return self.access

    async def force_refresh(self, rejected_token: str) -> bool:
        if rejected_token != self.access:
            return True
        transport = httpx.ASGITransport(app=self.sandbox.app)
        async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL) as client:
            response = await client.post(
                "/services/oauth2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh,
                    "client_id": self.sandbox.oauth.client_id,
                    "client_secret": self.sandbox.oauth.client_secret,
                },
            )
        if response.status_code != 200:
            return False
        body = response.json()
        self.answers.append(body)
        self.access = body["access_token"]
        self.refresh = body.get("refresh_token") or self.refresh
        return True
