"""Test doubles shared by the integration tests: a sleep that only records, and the smallest
token holder that renews at a sandbox's token endpoint (what `connections` does for real)."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

from gigforge.integrations.framework import TokenRefresher


class RecordedSleep:
    """Stands in for asyncio.sleep: remembers each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class SandboxTokens(TokenRefresher):
    def __init__(
        self,
        app: ASGIApp,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        issued: dict[str, object],
    ) -> None:
        self.app = app
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.access = str(issued["access_token"])
        self.refresh = str(issued["refresh_token"])
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.access

    async def force_refresh(self, rejected_token: str) -> bool:
        if rejected_token != self.access:
            return True
        self.refreshes += 1
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            response = await client.post(
                self.token_url,
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": self.refresh,
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
            )
        if response.status_code != 200:
            return False
        body = response.json()
        self.access, self.refresh = body["access_token"], body["refresh_token"]
        return True
