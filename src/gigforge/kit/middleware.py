"""Pure ASGI middlewares for request identity, access logging, metrics and body limits.

They are plain ASGI rather than `BaseHTTPMiddleware` so bodies and responses stream through
unbuffered and the raw `receive`/`send` can be wrapped: that is where a response's status and
headers and a chunked body's size are seen.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gigforge.kit.logging import get_logger
from gigforge.kit.metrics import UNMATCHED_ROUTE, HttpMetrics
from gigforge.kit.problems import PROBLEM_CONTENT_TYPE, HtmlErrorPage, negotiate, problem_body

REQUEST_ID_HEADER = "X-Request-ID"
# Anything else from a client is replaced: the id ends up in logs and response headers.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_access_logger = get_logger("gigforge.access")


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key.lower() == name]


def _request_id(scope: Scope) -> str | None:
    request_id = scope.get("state", {}).get("request_id")
    return request_id if isinstance(request_id, str) else None


def _route_template(scope: Scope) -> str:
    """The matched route's template; raw paths would give every id its own label value.

    For routes added with `include_router`, FastAPI (since 0.137) leaves the unprefixed route in
    `scope["route"]` (fastapi/fastapi#16051) and keeps the prefixed one in its resolved route
    context, which is used when it belongs to that same route.
    """
    route = scope.get("route")
    if route is None:
        return UNMATCHED_ROUTE
    fastapi_scope = scope.get("fastapi")
    if isinstance(fastapi_scope, dict):
        resolved = fastapi_scope.get("effective_route_context")
        if resolved is not None and getattr(resolved, "original_route", None) is route:
            route = resolved
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Gives every request an id, and records one access log line and one metric sample.

    It must be the outermost middleware so responses produced by the others (413, CORS
    preflights) also carry the id and are counted.
    """

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _header(scope, b"x-request-id")
        candidate = incoming[0].decode("latin-1") if incoming else ""
        request_id = (
            candidate if _VALID_REQUEST_ID.fullmatch(candidate) is not None else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                elapsed = time.perf_counter() - started
                # No response started means the app raised (or returned without answering);
                # the server turns both into a 500.
                final_status = 500 if status is None else status
                route = _route_template(scope)
                _access_logger.info(
                    "request",
                    method=scope["method"],
                    route=route,
                    status=final_status,
                    latency_ms=round(elapsed * 1000, 2),
                )
                self.metrics.observe(scope["method"], route, final_status, elapsed)


class _BodyTooLarge(Exception):
    """Raised into the app from `receive` so it stops reading; an exception rather than a
    disconnect message so endpoints that read the body themselves do not log an error."""


class BodySizeLimitMiddleware:
    """Refuses oversized bodies before the app buffers them into memory.

    A declared Content-Length is checked up front; a chunked body is counted as it streams and
    cut off once it passes the limit. It answers before routing, so it negotiates the error
    itself: `html` renders the page a browser gets (see `kit.problems.prefers_html`).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, html: HtmlErrorPage | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = _header(scope, b"content-length")
        if declared:
            if len(set(declared)) != 1 or not declared[0].isdigit():
                await self._reject_invalid_length(scope, receive, send)
                return
            # The length check keeps int() away from absurdly long digit strings.
            if len(declared[0]) > 18 or int(declared[0]) > self.max_bytes:
                await self._reject_too_large(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return

        received = 0
        response_started = False
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received <= self.max_bytes:
                return message
            refused = True
            if not response_started:
                await self._reject_too_large(scope, receive, send)
            raise _BodyTooLarge

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused and not response_started:
                # The 413 is already out; whatever the app makes of the abort is dropped.
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            # A response already under way cannot become a 413; let the server abort it.
            if response_started:
                raise

    async def _reject_too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._problem(
            scope,
            receive,
            send,
            status=413,
            code="payload-too-large",
            title="Request body too large",
            detail=f"The body must be at most {self.max_bytes} bytes",
        )

    async def _reject_invalid_length(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._problem(
            scope,
            receive,
            send,
            status=400,
            code="bad-request",
            title="Bad request",
            detail="The Content-Length header is not a valid byte count",
        )

    async def _problem(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        status: int,
        code: str,
        title: str,
        detail: str,
    ) -> None:
        body = problem_body(
            status=status,
            code=code,
            title=title,
            detail=detail,
            instance=scope["path"],
            request_id=_request_id(scope),
        )
        response = JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE)
        await negotiate(Request(scope, receive), response, self.html)(scope, receive, send)


class NulInUrlMiddleware:
    """Refuses a URL with a NUL character in its path or query (`%00`) with a 400.

    No route has a use for one, and PostgreSQL text cannot hold it: a NUL that reached a
    query as a path or filter value would fail inside the database as a 500.
    """

    def __init__(self, app: ASGIApp, html: HtmlErrorPage | None = None) -> None:
        self.app = app
        self.html = html

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_nul(scope):
            await self.app(scope, receive, send)
            return
        body = problem_body(
            status=400,
            code="nul-in-url",
            title="The address contains a NUL character",
            detail="Remove the NUL character (%00) from the address",
            instance=scope["path"].replace("\x00", "%00"),
            request_id=_request_id(scope),
        )
        response = JSONResponse(body, status_code=400, media_type=PROBLEM_CONTENT_TYPE)
        await negotiate(Request(scope, receive), response, self.html)(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    raw_path: bytes = scope.get("raw_path") or b""
    query: bytes = scope.get("query_string", b"")
    return "\x00" in path or b"\x00" in raw_path or b"\x00" in query or b"%00" in query
