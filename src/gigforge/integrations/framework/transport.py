"""The policy layer: an httpx transport that every third-party call goes through.

Per call it waits for the rate budget, adds credentials, sends, and turns the outcome into
either a response or one error from `errors.py`, retrying what is safe to retry, refreshing an
OAuth token once on 401, and feeding the circuit breaker, the log and the metrics.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx
import structlog

from gigforge.integrations.framework.auth import Credentials, NoCredentials
from gigforge.integrations.framework.breaker import CircuitBreaker
from gigforge.integrations.framework.errors import (
    AuthExpired,
    IntegrationError,
    Permanent,
    RateLimited,
    Transient,
    Unavailable,
)
from gigforge.integrations.framework.metrics import IntegrationMetrics
from gigforge.integrations.framework.ratelimit import RateBudget, Sleep
from gigforge.integrations.framework.spec import IntegrationSpec
from gigforge.kit.ssrf import REFUSED_DETAIL, DestinationRefused

logger = structlog.get_logger("gigforge.integrations")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
TRANSIENT_STATUSES = frozenset({408, 500, 502, 503, 504})
ERROR_EXCERPT = 4096
# A request may declare itself safe to replay (a read sent as POST, such as a GraphQL query).
SAFE_TO_REPLAY = "gigforge.safe_to_replay"


class DestinationNotAllowed(Permanent):
    """The SSRF guard refused where a connection points (a private or local address): the
    request never left, and only an admin's allow-list or another address can change that."""

    status_code = 422
    code = "integration-destination-not-allowed"
    title = "The connection points at an address that is not allowed"


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0


@dataclass
class _Attempt:
    number: int = 0
    refreshed: bool = False
    started: float = field(default_factory=time.perf_counter)


class PolicyTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        spec: IntegrationSpec,
        connection: str,
        inner: httpx.AsyncBaseTransport,
        breaker: CircuitBreaker,
        budget: RateBudget,
        metrics: IntegrationMetrics,
        credentials: Credentials | None = None,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.spec = spec
        self.connection = connection
        self.inner = inner
        self.breaker = breaker
        self.budget = budget
        self.metrics = metrics
        self.credentials = credentials or NoCredentials()
        self.policy = policy
        self.sleep = sleep
        self.jitter = jitter
        self.budget_key = f"{spec.slug}:{connection}"
        self.limits = spec.parsed_limits()
        # Labelled metric children, looked up once rather than on every call.
        self._retries = metrics.retries.labels(spec.slug)
        self._throttled = metrics.throttled.labels(spec.slug)
        self._latency = metrics.latency.labels(spec.slug)
        self._breaker_state = metrics.breaker_state.labels(spec.slug)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        attempt = _Attempt()
        try:
            response = await self._send_with_policy(request, attempt)
        except IntegrationError as exc:
            self._record(
                request, attempt, status=exc.upstream_status, outcome=type(exc).__name__, error=exc
            )
            raise
        self._record(request, attempt, status=response.status_code, outcome="ok")
        return response

    async def _send_with_policy(self, request: httpx.Request, attempt: _Attempt) -> httpx.Response:
        retryable = (
            request.method in IDEMPOTENT_METHODS
            or self._has_idempotency_key(request)
            or bool(request.extensions.get(SAFE_TO_REPLAY))
        )
        while True:
            attempt.number += 1
            self._check_breaker()
            await self._wait_for_budget()
            await self.credentials.apply(request)
            try:
                response = await self.inner.handle_async_request(request)
            except DestinationRefused:
                raise DestinationNotAllowed(
                    f"{self.spec.title}: {REFUSED_DETAIL}", integration=self.spec.slug
                ) from None
            except (httpx.ConnectError, httpx.ConnectTimeout):
                # Refused, silent or unresolvable all read the same, so that errors cannot be
                # used to map which ports are open where.
                self._failed()
                error: IntegrationError = Transient(
                    f"{self.spec.title}: could not connect to {request.url.host}",
                    integration=self.spec.slug,
                )
                await self._retry_or_raise(error, attempt, retryable, retry_after=None)
                continue
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                self._failed()
                error = Transient(
                    f"{self.spec.title}: {type(exc).__name__} on {request.method} "
                    f"{request.url.path}",
                    integration=self.spec.slug,
                )
                await self._retry_or_raise(error, attempt, retryable, retry_after=None)
                continue

            await self._observe_headers(response)
            status = response.status_code
            if status < 400:
                self.breaker.record_success()
                return response
            body = (await response.aread())[:ERROR_EXCERPT].decode(errors="replace")
            await response.aclose()
            if status == 401 and not attempt.refreshed:
                attempt.refreshed = True
                if await self.credentials.refresh():
                    attempt.number -= 1  # the replay after a refresh is not a retry
                    continue
            if status == 401:
                raise AuthExpired(
                    f"{self.spec.title} refused the credentials",
                    integration=self.spec.slug,
                    status=status,
                    body=body,
                )
            verdict = self._retry_verdict(response)
            if verdict is True and status not in TRANSIENT_STATUSES and status < 500:
                # e.g. Stripe's 409 lock_timeout: the provider says another try can succeed.
                self._failed()
                error = Transient(
                    f"{self.spec.title} answered {status} and asked for a retry",
                    integration=self.spec.slug,
                    status=status,
                    body=body,
                )
                await self._retry_or_raise(
                    error, attempt, True, retry_after=self._retry_after(response)
                )
                continue
            if status == 429:
                retry_after = self._retry_after(response)
                if retry_after is None and self.spec.retry_delay_from_body is not None:
                    retry_after = self.spec.retry_delay_from_body(body)
                error = RateLimited(
                    f"{self.spec.title} asked us to slow down",
                    integration=self.spec.slug,
                    retry_after=retry_after if retry_after is not None else 0.0,
                    status=status,
                    body=body,
                )
                # A 429 means the request was not processed, so even a POST may be replayed,
                # unless the provider says otherwise.
                await self._retry_or_raise(
                    error, attempt, verdict is not False, retry_after=retry_after
                )
                continue
            if status in TRANSIENT_STATUSES or status >= 500:
                self._failed()
                error = Transient(
                    f"{self.spec.title} answered {status}",
                    integration=self.spec.slug,
                    status=status,
                    body=body,
                )
                await self._retry_or_raise(
                    error,
                    attempt,
                    retryable if verdict is None else verdict,
                    retry_after=self._retry_after(response),
                )
                continue
            self.breaker.record_success()
            raise Permanent(
                f"{self.spec.title} rejected {request.method} {request.url.path} with {status}",
                integration=self.spec.slug,
                status=status,
                body=body,
            )

    async def _retry_or_raise(
        self,
        error: IntegrationError,
        attempt: _Attempt,
        retryable: bool,
        *,
        retry_after: float | None,
    ) -> None:
        if retry_after is not None and retry_after > self.policy.retry_after_cap:
            raise RateLimited(
                f"{self.spec.title} asked us to wait {retry_after:.0f}s, more than the "
                f"{self.policy.retry_after_cap:.0f}s we wait in a call",
                integration=self.spec.slug,
                retry_after=retry_after,
                status=error.upstream_status,
            )
        if not retryable or attempt.number > self.policy.max_retries:
            raise error
        if retry_after is None:
            ceiling = min(
                self.policy.backoff_max, self.policy.backoff_base * 2 ** (attempt.number - 1)
            )
            delay = ceiling * self.jitter()
        else:
            delay = retry_after
        self._retries.inc()
        await self.sleep(delay)

    def _check_breaker(self) -> None:
        allowed = self.breaker.allow()
        self._breaker_state.set({"closed": 0, "half_open": 1, "open": 2}[self.breaker.state.value])
        if not allowed:
            raise Unavailable(
                f"{self.spec.title} failed repeatedly; calls resume in "
                f"{self.breaker.retry_in():.0f}s",
                integration=self.spec.slug,
                retry_after=round(self.breaker.retry_in(), 1),
            )

    def _failed(self) -> None:
        self.breaker.record_failure()

    async def _wait_for_budget(self) -> None:
        while True:
            admission = await self.budget.admit(self.budget_key, self.limits)
            if admission.allowed:
                return
            if admission.wait_seconds > self.policy.retry_after_cap:
                raise RateLimited(
                    f"{self.spec.title}: the {admission.limit} budget is spent",
                    integration=self.spec.slug,
                    retry_after=admission.wait_seconds,
                )
            self._throttled.inc()
            await self.sleep(admission.wait_seconds)

    async def _observe_headers(self, response: httpx.Response) -> None:
        names = self.spec.rate_limit_headers
        if names.remaining is None:
            return
        remaining = _int_header(response, names.remaining)
        raw_reset = response.headers.get(names.reset) if names.reset else None
        reset = _parse_reset(raw_reset, names.reset_kind)
        await self.budget.observe(self.budget_key, remaining=remaining, reset_seconds=reset)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get(self.spec.rate_limit_headers.retry_after)
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None

    def _retry_verdict(self, response: httpx.Response) -> bool | None:
        """The provider's explicit retry hint, if its spec names one and it sent it."""
        name = self.spec.rate_limit_headers.should_retry
        value = response.headers.get(name, "").strip().lower() if name else ""
        return {"true": True, "false": False}.get(value)

    def _has_idempotency_key(self, request: httpx.Request) -> bool:
        header = self.spec.idempotency_header or "Idempotency-Key"
        return bool(request.headers.get(header))

    def _record(
        self,
        request: httpx.Request,
        attempt: _Attempt,
        *,
        status: int | None,
        outcome: str,
        error: IntegrationError | None = None,
    ) -> None:
        """One log line per call. A failure's detail and upstream body excerpt are kept here
        (the log redacts secrets), since API answers leave the body out."""
        latency = time.perf_counter() - attempt.started
        self.metrics.calls.labels(self.spec.slug, str(status or 0), outcome).inc()
        self._latency.observe(latency)
        logger.info(
            "integration.call",
            integration=self.spec.slug,
            connection=self.connection,
            method=request.method,
            path=request.url.path,
            status=status,
            attempts=attempt.number,
            outcome=outcome,
            latency_ms=round(latency * 1000, 2),
            **(
                {"error": error.detail, "upstream_body": error.extensions.get("body")}
                if error is not None
                else {}
            ),
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _parse_reset(value: str | None, kind: str) -> float | None:
    if value is None:
        return None
    try:
        if kind == "rfc3339":
            return datetime.fromisoformat(value).timestamp() - time.time()
        if kind == "duration":
            parts = _DURATION_PART.findall(value)
            return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts) or None
        seconds = float(value)
    except ValueError:
        return None
    return seconds - time.time() if kind == "epoch" else seconds
