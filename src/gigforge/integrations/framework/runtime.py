"""What one process shares across all its third-party clients: budgets, breakers, metrics,
and the SSRF guard every network connection passes (see `kit.ssrf`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from gigforge.integrations.framework.auth import Credentials
from gigforge.integrations.framework.breaker import BreakerBoard
from gigforge.integrations.framework.metrics import IntegrationMetrics
from gigforge.integrations.framework.ratelimit import RateBudget, Sleep, storage_from_url
from gigforge.integrations.framework.spec import IntegrationSpec
from gigforge.integrations.framework.transport import PolicyTransport, RetryPolicy
from gigforge.kit.events import EventBus
from gigforge.kit.ssrf import HTTP_SCHEMES, AddressGuard, GuardedTransport

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = "Gigforge (+https://github.com/gigforge)"


class PolicyClient(httpx.AsyncClient):
    """The client `IntegrationRuntime.client` hands out. It carries the runtime's SSRF guard for
    connectors whose protocol is not HTTP (IMAP), which must check their destination
    themselves; see `destination_guard`."""

    def __init__(self, *, guard: AddressGuard, **options: Any) -> None:
        super().__init__(**options)
        self.guard = guard


def destination_guard(client: httpx.AsyncClient) -> AddressGuard:
    """The guard to check a non-HTTP destination with: the runtime's, so the admin's allow-list
    applies, or the strict default for a client that did not come from a runtime."""
    return client.guard if isinstance(client, PolicyClient) else AddressGuard()


class IntegrationRuntime:
    def __init__(
        self,
        *,
        rate_limit_storage_url: str | None = None,
        events: EventBus | None = None,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        breakers: BreakerBoard | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        guard: AddressGuard | None = None,
    ) -> None:
        self.events = events or EventBus()
        self.metrics = IntegrationMetrics()
        self.budget = RateBudget(
            storage_from_url(rate_limit_storage_url), events=self.events, metrics=self.metrics
        )
        self.breakers = breakers or BreakerBoard()
        self.policy = policy
        self.sleep = sleep
        # URL prefix -> transport: in-process sandboxes in tests; the network otherwise.
        self.transports = dict(transports or {})
        # Every connection over the network passes it, vendor default hosts included: the
        # check is one lookup that the connection would have made anyway.
        self.guard = guard or AddressGuard()

    def transport(
        self,
        spec: IntegrationSpec,
        *,
        connection: str,
        credentials: Credentials | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> PolicyTransport:
        return PolicyTransport(
            spec=spec,
            connection=connection,
            inner=inner or self._inner_for(spec.base_url),
            breaker=self.breakers.get(spec.slug),
            budget=self.budget,
            metrics=self.metrics,
            credentials=credentials,
            policy=self.policy,
            sleep=self.sleep,
        )

    def client(
        self,
        spec: IntegrationSpec,
        *,
        connection: str,
        credentials: Credentials | None = None,
        base_url: str | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> httpx.AsyncClient:
        """The only way Gigforge code gets an HTTP client for a third party."""
        return PolicyClient(
            guard=self.guard,
            base_url=base_url or spec.base_url,
            transport=self.transport(
                spec, connection=connection, credentials=credentials, inner=inner
            ),
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    async def check_destination(self, url: str) -> None:
        """Refuse a user-supplied base URL before it is saved: a scheme other than http(s)
        (`file:`, `gopher:`, ...) or a host that resolves to a private or local address.
        A URL served in-process (a sandbox mounted by `serve --sandbox`) never leaves the
        process, so it is not resolved. Raises the `kit.ssrf` errors, all 422."""
        if self._mounted(url) is not None:
            return
        await self.guard.check_url(url, schemes=HTTP_SCHEMES)

    def _mounted(self, url: str) -> httpx.AsyncBaseTransport | None:
        for prefix, transport in self.transports.items():
            if url.startswith(prefix):
                return transport
        return None

    def _inner_for(self, url: str) -> httpx.AsyncBaseTransport:
        return self._mounted(url) or GuardedTransport(self.guard)
