"""Prometheus metrics for the HTTP layer."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

UNMATCHED_ROUTE = "unmatched"

# Label values come from clients; anything outside these would let a caller mint new series.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    """Request counts and latencies, labelled by route template so label cardinality stays bounded.

    Each instance owns its registry: several apps in one process (tests, workers sharing a
    module) must not collide on the global one.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "gigforge_http_requests",
            "HTTP requests handled, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self._duration = Histogram(
            "gigforge_http_request_duration_seconds",
            "Time from receiving a request to finishing its response.",
            ("method", "route"),
            buckets=_DURATION_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in _KNOWN_METHODS else "OTHER"
        self._requests.labels(method=method, route=route, status=str(status)).inc()
        self._duration.labels(method=method, route=route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
