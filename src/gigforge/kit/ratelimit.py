"""API rate limits per caller, advertised with the IETF RateLimit header fields.

Each request spends one unit of one policy, chosen by route group: `auth` for the routes that
exchange credentials (sign-in, sign-up, password reset, OAuth token), `read` for GET/HEAD/OPTIONS
and `write` for everything else. Whose budget it spends:

- a signed-in caller's, once authentication named them: `charge_principal(request, key)` with
  the principal's `rate_limit_key` (its API key, or its user; an OAuth token its grant);
- otherwise the client address's: requests without credentials and every request to an `auth`
  route are charged here, before the app runs, so a spent budget costs the server nothing.

A request that carried credentials but never reached a principal (a bad token, an unknown path)
is charged to its address as its response starts; if that budget is spent and the response is an
error anyway, the 429 replaces it, so guessing tokens is limited like everything else.

Counting is the `limits` library's fixed window (one counter per policy and caller, reset when
its window ends), which is what the headers describe: `RateLimit-Policy: "read";q=600;w=60`
and `RateLimit: "read";r=599;t=42` (draft-ietf-httpapi-ratelimit-headers-10: quota and window
in seconds; remaining units and seconds until they reset). Counters live in this process
(`limits`' memory storage) or, with `GIGFORGE_REDIS_URL`, in Redis, shared by every process.
If Redis cannot be reached the request goes through uncounted and a warning is logged: the
limits protect the service, an outage of their store must not take it down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.errors import StorageError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gigforge.kit.errors import TooManyRequests
from gigforge.kit.logging import get_logger
from gigforge.kit.problems import (
    PROBLEM_CONTENT_TYPE,
    HtmlErrorPage,
    answer_extensions,
    negotiate,
    problem_body,
)
from gigforge.settings import Settings

logger = get_logger("gigforge.ratelimit")

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATE_KEY = "rate_limit"
POLICY_HEADER = "RateLimit-Policy"
LIMIT_HEADER = "RateLimit"
EXPOSED_HEADERS = (POLICY_HEADER, LIMIT_HEADER)


def parse_limit(value: str) -> RateLimitItem:
    """One `limits` expression such as `600/minute` or `20 per 1 minute`; a clear error else."""
    try:
        item = parse(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a rate limit; write it as <count>/<second|minute|hour|day>"
        ) from None
    if item.amount < 1:
        raise ValueError(f"{value!r} allows nothing; the count must be at least 1")
    return item


@dataclass(frozen=True)
class Policy:
    """A named quota: `amount` requests per `window` seconds."""

    name: str
    item: RateLimitItem

    @property
    def quota(self) -> int:
        return int(self.item.amount)

    @property
    def window(self) -> int:
        return int(self.item.get_expiry())

    def header(self) -> str:
        return f'"{self.name}";q={self.quota};w={self.window}'


@dataclass(frozen=True)
class Decision:
    """The outcome of spending one unit: allowed or not, what is left, when it resets."""

    policy: Policy
    allowed: bool
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            POLICY_HEADER: self.policy.header(),
            LIMIT_HEADER: f'"{self.policy.name}";r={self.remaining};t={self.reset_seconds}',
        }


class RateLimited(TooManyRequests):
    code = "rate-limited"
    title = "Rate limit reached"
    public_extensions = frozenset({"retry_after", "policy"})


# What each policy counts, in words a person reads on the 429 page.
_COUNTED = {"read": "reads", "write": "changes", "auth": "sign-in and account requests"}
_WINDOWS = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}


def refusal(decision: Decision) -> RateLimited:
    policy = decision.policy
    counted = _COUNTED.get(policy.name, "requests")
    window = _WINDOWS.get(policy.window, f"{policy.window} seconds")
    return RateLimited(
        f"You have used all {policy.quota} {counted} allowed per {window}; try again in "
        f"{decision.reset_seconds} seconds.",
        retry_after=decision.reset_seconds,
        policy=policy.name,
    )


def storage_from_url(url: str | None) -> Storage:
    """`None` counts in this process; `redis://...` shares the counters across processes."""
    if url is None:
        return MemoryStorage()
    if url.startswith(("redis://", "rediss://")):
        return RedisStorage(
            f"async+{url}",
            implementation="redispy",
            key_prefix="gigforge-api",
            wrap_exceptions=True,
        )
    raise ValueError(f"unsupported rate-limit storage URL scheme: {url.split(':', 1)[0]}")


class RateLimiter:
    def __init__(
        self,
        storage: Storage,
        policies: Sequence[Policy],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.policies: Mapping[str, Policy] = {policy.name: policy for policy in policies}
        self._clock = clock

    async def charge(self, group: str, subject: str) -> Decision | None:
        """Spend one unit of `group`'s policy for `subject`; None when the store is down."""
        policy = self.policies[group]
        key = policy.item.key_for("api", group, subject)
        # `limits`' fixed window (`FixedWindowRateLimiter.hit` is this `incr`), on the storage
        # itself: the count comes back with the hit instead of from a third round trip.
        try:
            count = await self.storage.incr(key, policy.item.get_expiry())
            expires_at = await self.storage.get_expiry(key)
        except StorageError as exc:
            logger.warning("ratelimit.storage_unavailable", error=type(exc.storage_error).__name__)
            return None
        allowed = count <= policy.quota
        reset = max(0, math.ceil(expires_at - self._clock()))
        return Decision(
            policy=policy,
            allowed=allowed,
            remaining=max(0, policy.quota - count),
            # A refusal always asks for at least a second: "retry in 0 seconds" would be a lie.
            reset_seconds=reset if allowed else max(1, reset),
        )


@dataclass
class RequestBudget:
    """What the middleware leaves in the request's state for `charge_principal`."""

    limiter: RateLimiter
    group: str
    decision: Decision | None = None
    charged: bool = False


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


async def charge_principal(request: Request, key: str) -> None:
    """Spend the signed-in caller's budget, once per request; raises `RateLimited` when spent.

    Requests the middleware does not limit, and those it already charged (to their address),
    pass untouched."""
    budget = request.scope.get("state", {}).get(STATE_KEY)
    if not isinstance(budget, RequestBudget) or budget.charged:
        return
    budget.charged = True
    budget.decision = await budget.limiter.charge(budget.group, key)
    if budget.decision is not None and not budget.decision.allowed:
        raise refusal(budget.decision)


@dataclass(frozen=True)
class Routes:
    """Which requests are limited, and which of them are `auth` routes.

    `auth_paths` entries ending in `/` are prefixes, others exact paths. API paths are limited
    on every method; elsewhere (the dashboard, the OAuth token endpoint) only submissions, so
    showing the sign-in page costs nothing. Sandboxes are never limited.
    """

    auth_paths: tuple[str, ...]
    api_prefix: str = "/api/"
    exempt_prefixes: tuple[str, ...] = ("/sandbox/",)
    #: Cookies that sign a browser in: like an Authorization header, they defer the charge
    #: until the dashboard has found the user.
    credential_cookies: tuple[str, ...] = ()

    def is_auth(self, path: str) -> bool:
        return any(
            path.startswith(entry) if entry.endswith("/") else path == entry
            for entry in self.auth_paths
        )

    def group(self, method: str, path: str) -> str | None:
        """The policy a request spends, or None when it is not limited."""
        if path.startswith(self.exempt_prefixes):
            return None
        if path.startswith(self.api_prefix):
            if self.is_auth(path):
                return "auth"
            return "read" if method in READ_METHODS else "write"
        if method in READ_METHODS:
            return None
        return "auth" if self.is_auth(path) else "write"

    def has_credentials(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name in (b"authorization", b"x-api-key"):
                return True
            if name == b"cookie" and any(
                f"{cookie}=".encode() in value for cookie in self.credential_cookies
            ):
                return True
        return False


class RateLimitMiddleware:
    """Charges requests to their caller's budget and puts the RateLimit headers on answers.

    `client_address` reads the caller's address the way the rest of the app does (proxies
    trusted per settings); `html` renders the 429 a person's browser gets."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        routes: Routes,
        *,
        client_address: Callable[[Request], str | None],
        html: HtmlErrorPage | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.routes = routes
        self.client_address = client_address
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        group = self.routes.group(scope["method"], scope["path"])
        if group is None:
            await self.app(scope, receive, send)
            return
        budget = RequestBudget(self.limiter, group)
        scope.setdefault("state", {})[STATE_KEY] = budget
        if group == "auth" or not self.routes.has_credentials(scope):
            budget.charged = True
            budget.decision = await self._charge_address(scope, receive, group)
            if budget.decision is not None and not budget.decision.allowed:
                await self._refuse(scope, receive, send, budget.decision)
                return

        replaced = False

        async def send_with_headers(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                if not budget.charged:
                    # Credentials were sent but no principal came of them.
                    budget.charged = True
                    budget.decision = await self._charge_address(scope, receive, group)
                    decision = budget.decision
                    if decision is not None and not decision.allowed and message["status"] >= 400:
                        replaced = True
                        await self._refuse(scope, receive, send, decision)
                        return
                if budget.decision is not None:
                    headers = MutableHeaders(scope=message)
                    for name, value in budget.decision.headers().items():
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _charge_address(self, scope: Scope, receive: Receive, group: str) -> Decision | None:
        address = self.client_address(Request(scope, receive))
        return await self.limiter.charge(group, address_key(address))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, decision: Decision) -> None:
        error = refusal(decision)
        request_id = scope.get("state", {}).get("request_id")
        body = problem_body(
            status=error.status_code,
            code=error.code,
            title=error.title,
            detail=error.detail,
            instance=scope["path"],
            request_id=request_id if isinstance(request_id, str) else None,
            **answer_extensions(error),
        )
        response = JSONResponse(
            body,
            status_code=error.status_code,
            media_type=PROBLEM_CONTENT_TYPE,
            headers={**error.headers(), **decision.headers()},
        )
        await negotiate(Request(scope, receive), response, self.html)(scope, receive, send)


def limiter_from_settings(settings: Settings) -> RateLimiter:
    return RateLimiter(
        storage_from_url(settings.redis_url),
        [
            Policy("read", parse_limit(settings.rate_limit_read)),
            Policy("write", parse_limit(settings.rate_limit_write)),
            Policy("auth", parse_limit(settings.rate_limit_auth)),
        ],
    )


RETRY_AFTER = "Retry-After"
_HEADER_DOCS: dict[str, dict[str, Any]] = {
    POLICY_HEADER: {
        "description": 'The policy this operation spends, e.g. `"read";q=600;w=60` '
        "(draft-ietf-httpapi-ratelimit-headers: quota, window in seconds)",
        "schema": {"type": "string"},
    },
    LIMIT_HEADER: {
        "description": 'What is left of it, e.g. `"read";r=599;t=42` '
        "(remaining requests, seconds until the window resets)",
        "schema": {"type": "string"},
    },
    RETRY_AFTER: {
        "description": "Seconds until the spent limit allows a request again",
        "schema": {"type": "integer"},
    },
}


def document_rate_limits(app: FastAPI, routes: Routes) -> None:
    """Declares in OpenAPI what the middleware adds to every limited operation: the RateLimit
    headers on its answers (defined once, under `components.headers`) and the 429 it can
    answer.
    Call after the problem handlers are installed (it wraps their `openapi`)."""
    build = app.openapi
    documented: set[int] = set()

    def openapi() -> dict[str, Any]:
        schema = build()
        if id(schema) in documented:
            return schema
        documented.add(id(schema))
        schema.setdefault("components", {}).setdefault("headers", {}).update(_HEADER_DOCS)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if isinstance(operation, dict) and routes.group(method.upper(), path) is not None:
                    _document_operation(operation)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {}).update(_header_refs(POLICY_HEADER, LIMIT_HEADER))
    refused = responses.get("429")
    if refused is None:
        refused = responses["429"] = {
            "description": RateLimited.title,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    else:
        # The operation's own 429 (a sign-in throttle, say) is also what a spent limit answers.
        refused["description"] += f" / {RateLimited.title}"
    refused.setdefault("headers", {}).update(_header_refs(RETRY_AFTER, POLICY_HEADER, LIMIT_HEADER))
