"""Prometheus metrics of third-party calls, kept in their own registry (see /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class IntegrationMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "gigforge_integration_calls",
            "Third-party calls by integration, final status and outcome.",
            ["integration", "status", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gigforge_integration_call_duration_seconds",
            "Time of a third-party call including retries and waits.",
            ["integration"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.retries = Counter(
            "gigforge_integration_retries",
            "Retries of third-party calls.",
            ["integration"],
            registry=self.registry,
        )
        self.throttled = Counter(
            "gigforge_integration_throttled",
            "Calls held back by our own rate budget or quota.",
            ["integration"],
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "gigforge_integration_breaker_state",
            "Circuit breaker per integration: 0 closed, 1 half-open, 2 open.",
            ["integration"],
            registry=self.registry,
        )
        self.quota_used = Gauge(
            "gigforge_integration_quota_used_ratio",
            "Share of an hourly or daily quota used in the current window.",
            ["integration", "connection", "limit"],
            registry=self.registry,
        )
