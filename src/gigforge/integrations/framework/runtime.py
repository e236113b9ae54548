"""What one process shares across all its third-party clients: budgets, breakers, metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from gigforge.integrations.framework.auth import Credentials
from gigforge.integrations.framework.breaker import BreakerBoard
from gigforge.integrations.framework.metrics import IntegrationMetrics
from gigforge.integrations.framework.ratelimit import RateBudget, Sleep, storage_from_url
from gigforge.integrations.framework.spec import IntegrationSpec
from gigforge.integrations.framework.transport import PolicyTransport, RetryPolicy
from gigforge.kit.events import EventBus

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = "Gigforge (+https://github.com/gigforge)"


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
        return httpx.AsyncClient(
            base_url=base_url or spec.base_url,
            transport=self.transport(
                spec, connection=connection, credentials=credentials, inner=inner
            ),
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def _inner_for(self, url: str) -> httpx.AsyncBaseTransport:
        for prefix, transport in self.transports.items():
            if url.startswith(prefix):
                return transport
        return httpx.AsyncHTTPTransport(retries=0)
