"""What one process shares across all its third-party clients: budgets, breakers, metrics,
and the SSRF guard every network connection passes (see `kit.ssrf`)."""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Mapping
from typing import Any

import httpx

from gigforge.integrations.framework.auth import Credentials
from gigforge.integrations.framework.breaker import BreakerBoard
from gigforge.integrations.framework.metrics import IntegrationMetrics
from gigforge.integrations.framework.ratelimit import (
    QuotaListener,
    RateBudget,
    Sleep,
    storage_from_url,
)
from gigforge.integrations.framework.spec import IntegrationSpec
from gigforge.integrations.framework.transport import PolicyTransport, RetryPolicy
from gigforge.kit.ssrf import HTTP_SCHEMES, AddressGuard, AllowList, GuardedTransport

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
        on_quota: QuotaListener | None = None,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        breakers: BreakerBoard | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        guard: AddressGuard | None = None,
        own_sandboxes: str | None = None,
    ) -> None:
        self.metrics = IntegrationMetrics()
        self.budget = RateBudget(
            storage_from_url(rate_limit_storage_url), on_quota=on_quota, metrics=self.metrics
        )
        self.breakers = breakers or BreakerBoard()
        self.policy = policy
        self.sleep = sleep
        # URL prefix -> transport: in-process sandboxes in tests; the network otherwise.
        self.transports = dict(transports or {})
        # Every connection over the network passes it, vendor default hosts included: the
        # check is one lookup that the connection would have made anyway.
        self.guard = guard or AddressGuard()
        # This server's own sandbox mount (`{public_url}/sandbox/`), reached over the loopback
        # by the CLI and workers of a `serve --sandbox` process: its host:port is let through
        # for that path alone.
        self.own_sandboxes = httpx.URL(own_sandboxes) if own_sandboxes else None
        self._own_guard = (
            AddressGuard(
                allowed=AllowList(
                    names=self.guard.allow_list.names
                    | {
                        (
                            self.own_sandboxes.host,
                            self.own_sandboxes.port or _default_port(self.own_sandboxes),
                        )
                    },
                    addresses=self.guard.allow_list.addresses,
                    networks=self.guard.allow_list.networks,
                ),
                resolver=self.guard.resolver,
            )
            if self.own_sandboxes
            else None
        )

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
        if self._mounted(url) is not None or self._own_sandbox(url):
            return
        await self.guard.check_url(url, schemes=HTTP_SCHEMES)

    def _mounted(self, url: str) -> httpx.AsyncBaseTransport | None:
        for prefix, transport in self.transports.items():
            if url.startswith(prefix):
                return transport
        return None

    def _own_sandbox(self, url: str) -> bool:
        """Whether `url` is under this server's own sandbox mount, dot segments resolved."""
        if self.own_sandboxes is None:
            return False
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            return False
        own = self.own_sandboxes
        return (parsed.scheme, parsed.host, parsed.port or _default_port(parsed)) == (
            own.scheme,
            own.host,
            own.port or _default_port(own),
        ) and posixpath.normpath(parsed.path + "/").startswith(own.path.rstrip("/") + "/")

    def _inner_for(self, url: str) -> httpx.AsyncBaseTransport:
        mounted = self._mounted(url)
        if mounted is not None:
            return mounted
        if self._own_guard is not None and self._own_sandbox(url):
            return GuardedTransport(self._own_guard)
        return GuardedTransport(self.guard)


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80
