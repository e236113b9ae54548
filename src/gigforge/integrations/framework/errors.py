"""What a third-party call can fail with, decided once at the transport boundary.

IntegrationError
  AuthExpired       credentials were refused and could not be refreshed: the user must reconnect
  RateLimited       the provider (or our own budget) says wait `retry_after` seconds
  Transient         5xx, timeouts, dropped connections: worth trying again later
  Permanent         any other 4xx: trying again will not help; recorded for review
  Unavailable       the circuit breaker is open: we are not calling this provider right now
  NotSupported      the connector does not offer this operation
"""

from __future__ import annotations

from typing import Any

from gigforge.kit.errors import GigforgeError


class IntegrationError(GigforgeError):
    """`extensions` may hold the upstream body excerpt and the provider's own error fields:
    connectors read them and the transport logs them (redacted), but an API answer carries
    only `public_extensions`, so nothing the provider sent is echoed to our callers."""

    status_code = 502
    code = "integration-error"
    title = "A third-party service failed"
    public_extensions = frozenset({"integration", "upstream_status", "retry_after"})

    def __init__(
        self,
        detail: str | None = None,
        *,
        integration: str,
        status: int | None = None,
        **extensions: Any,
    ) -> None:
        self.integration = integration
        self.upstream_status = status
        super().__init__(detail, integration=integration, upstream_status=status, **extensions)


class AuthExpired(IntegrationError):
    code = "integration-auth-expired"
    title = "The connection's credentials were refused; reconnect it"


class RateLimited(IntegrationError):
    status_code = 429
    code = "integration-rate-limited"
    title = "The third-party service asks us to wait"

    def __init__(
        self, detail: str | None = None, *, integration: str, retry_after: float, **extensions: Any
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            detail, integration=integration, retry_after=round(retry_after, 3), **extensions
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(-(-self.retry_after // 1))))}


class Transient(IntegrationError):
    code = "integration-transient"
    title = "The third-party service failed for now"


class Permanent(IntegrationError):
    code = "integration-rejected"
    title = "The third-party service rejected the request"


class Unavailable(IntegrationError):
    status_code = 503
    code = "integration-unavailable"
    title = "Calls to this service are paused after repeated failures"


class NotSupported(IntegrationError):
    status_code = 501
    code = "integration-not-supported"
    title = "The integration does not offer this operation"


def integration_cause(exc: BaseException) -> IntegrationError | None:
    """The framework error an exception was raised from, however deep in its chain: official
    SDKs running over the policy layer wrap what the transport raised in their own errors."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, IntegrationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
