"""One typed error tree, rendered as RFC 9457 problem+json by the handlers in kit.problems."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_TYPE_PREFIX = "urn:gigforge:problem:"


class GigforgeError(Exception):
    """Base of every expected failure.

    `keeps_changes` marks errors whose rows (a failed sign-in, a revoked token family) must
    survive the failed request: the unit of work commits before the error is rendered.
    """

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    keeps_changes: ClassVar[bool] = False
    # Names of `extensions` an API answer may carry; None means all of them.
    public_extensions: ClassVar[frozenset[str] | None] = None

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        self.detail = detail or self.title
        self.extensions = extensions
        super().__init__(self.detail)

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.code

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(GigforgeError):
    status_code = 400
    code = "bad-request"
    title = "Bad request"


class ValidationFailed(GigforgeError):
    status_code = 422
    code = "validation-failed"
    title = "The request is not valid"


class Unauthorized(GigforgeError):
    status_code = 401
    code = "unauthorized"
    title = "Authentication required"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="gigforge"'}


class Forbidden(GigforgeError):
    status_code = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(GigforgeError):
    status_code = 404
    code = "not-found"
    title = "Not found"


class Conflict(GigforgeError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(GigforgeError):
    status_code = 413
    code = "payload-too-large"
    title = "Request body too large"


class TooManyRequests(GigforgeError):
    status_code = 429
    code = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extensions: Any) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(detail, retry_after=self.retry_after, **extensions)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(GigforgeError):
    status_code = 503
    code = "service-unavailable"
    title = "Service unavailable"
