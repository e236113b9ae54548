"""Shared by the Upwork tests: the sandbox's address, a recorded sleep and a token holder.

A uniquely named module rather than conftest, so importing it never picks up another
directory's conftest.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gigforge.integrations.framework import TokenRefresher
from gigforge.integrations.upwork import SPEC, UpworkConnector
from gigforge.integrations.upwork.sandbox import UpworkSandbox

SANDBOX_URL = "http://sandbox"
SANDBOX_SPEC = SPEC.rebased(SANDBOX_URL)

Connect = Callable[..., UpworkConnector]


class RecordedSleep:
    """Stands in for asyncio.sleep: remembers each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class SandboxTokens(TokenRefresher):
    """What the connections package does, reduced to the sandbox: hold one token pair and
    renew it at Upwork's token path with the refresh grant."""

    def __init__(self, sandbox: UpworkSandbox, issued: dict[str, object]) -> None:
        self.sandbox = sandbox
        self.access = str(issued["access_token"])
        self.refresh = str(issued["refresh_token"])
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.access

    async def force_refresh(self, rejected_token: str) -> bool:
        if rejected_token != self.access:
            return True
        assert SANDBOX_SPEC.oauth is not None
        transport = httpx.ASGITransport(app=self.sandbox.app)
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.post(
                SANDBOX_SPEC.oauth.token_url,
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
        self.access, self.refresh = body["access_token"], body["refresh_token"]
        self.refreshes += 1
        return True
