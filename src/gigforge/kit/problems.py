"""RFC 9457 problem details: the one shape every API error takes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match, Mount

from gigforge.kit.errors import PROBLEM_TYPE_PREFIX, GigforgeError

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Machine-facing paths answer problem+json even to a browser.
_MACHINE_PREFIXES = ("/api/", "/sandbox/")
_MACHINE_PATHS = frozenset({"/api", "/sandbox", "/openapi.json"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_JSON_TYPES = frozenset({"application/json", "application/problem+json"})
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

logger = structlog.get_logger("gigforge.errors")


class HtmlErrorPage(Protocol):
    """Renders a problem as a page for a person; supplied by the dashboard, so kit stays free
    of templates. `problem` is the body the API would have sent."""

    def __call__(
        self, request: Request, problem: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Response: ...


def _accept_weights(accept: str) -> list[tuple[str, float]]:
    weights = []
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights.append((media_type.lower(), weight))
    return weights


def accepts_html_first(accept: str | None) -> bool:
    """Accept names HTML and ranks it above JSON, as a browser navigation does. `*/*` alone
    (curl, httpx, fetch) is no preference for HTML."""
    if not accept:
        return False
    weights = _accept_weights(accept)
    html = max((weight for media, weight in weights if media in _HTML_TYPES), default=0.0)
    json = max((weight for media, weight in weights if media in _JSON_TYPES), default=0.0)
    return html > 0 and html > json


def prefers_html(path: str, accept: str | None) -> bool:
    """A browser navigation to a page: API paths always get problem+json, so only people in
    a browser see error pages."""
    if path in _MACHINE_PATHS or path.startswith(_MACHINE_PREFIXES):
        return False
    return accepts_html_first(accept)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts at this path. Starlette's own 405 names only the
    methods of the first route whose path matched, though several may share it (GET and
    POST /api/v1/connections). Each method is tried against the routing table; an empty list
    means a mounted app answered, and its own Allow header stands."""
    allowed = []
    for method in _METHODS:
        scope = {key: value for key, value in request.scope.items() if key != "fastapi"}
        scope["method"] = method
        for route in request.app.router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                if isinstance(route, Mount):
                    return []
                allowed.append(method)
                break
    return allowed


class InvalidParam(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """The documented error body of every endpoint."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[InvalidParam] | None = None


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_TYPE_PREFIX + code, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    if request_id is not None:
        body["request_id"] = request_id
    body.update({key: value for key, value in extensions.items() if value is not None})
    return body


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = problem_body(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        **extensions,
    )
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def _invalid_params(exc: RequestValidationError) -> list[dict[str, Any]]:
    params = []
    for error in exc.errors():
        params.append(
            {
                "loc": [part for part in error.get("loc", ()) if isinstance(part, str | int)],
                "msg": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return params


def answer_extensions(exc: GigforgeError) -> dict[str, Any]:
    """The extensions an answer may carry: an error that names `public_extensions` keeps the
    rest (an upstream body, a provider's own fields) for logs and its own handlers."""
    if exc.public_extensions is None:
        return dict(exc.extensions)
    return {key: value for key, value in exc.extensions.items() if key in exc.public_extensions}


async def _gigforge_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GigforgeError)
    return problem_response(
        request,
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers() or None,
        **answer_extensions(exc),
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    params = _invalid_params(exc)
    if any(param["type"] == "json_invalid" for param in params):
        return problem_response(
            request,
            status=400,
            code="malformed-json",
            title="The request body is not valid JSON",
            errors=params,
        )
    return problem_response(
        request,
        status=422,
        code="validation-failed",
        title="The request is not valid",
        detail="; ".join(
            f"{'.'.join(str(p) for p in param['loc'])}: {param['msg']}" for param in params
        ),
        errors=params,
    )


_HTTP_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, ("http-error", "HTTP error"))
    detail = (
        exc.detail if isinstance(exc.detail, str) and exc.detail.lower() != title.lower() else None
    )
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        methods = allowed_methods(request)
        if methods:
            headers["Allow"] = ", ".join(methods)
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=headers or None,
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A unique or foreign key constraint caught a race the service's own check missed."""
    logger.warning("integrity error", error_type=type(exc).__name__, path=request.url.path)
    return problem_response(
        request,
        status=409,
        code="conflict",
        title="Conflict",
        detail="The change conflicts with data that already exists; reload and try again.",
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette renders this outside the request middleware: carry the request id by hand.
    request_id = request.scope.get("state", {}).get("request_id")
    logger.error("unhandled error", exc_info=exc, request_id=request_id, path=request.url.path)
    return problem_response(
        request,
        status=500,
        code="internal-error",
        title="Internal error",
        detail="Something went wrong on our side; the request id identifies it in the logs.",
        headers={"X-Request-ID": request_id} if request_id else None,
    )


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_CONTENT_TYPE: {"schema": _PROBLEM_REF}}}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the handlers do: every error is problem+json, any
    address with a NUL character is refused (400, `NulInUrlMiddleware`), and bodies can be
    malformed (400) or too large (413)."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem_response("The request is not valid")
            if "requestBody" in operation:
                responses.setdefault(
                    "400",
                    _problem_response("The body is not valid JSON, or the address has a NUL"),
                )
                responses.setdefault("413", _problem_response("The body is too large"))
            responses.setdefault("400", _problem_response("The address has a NUL character"))
    schemas = schema.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema


_Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]
_AnyHandler = Callable[[Request, Exception], Awaitable[Response]]
_BODY_HEADERS = frozenset({"content-type", "content-length"})


def negotiate(request: Request, response: JSONResponse, html: HtmlErrorPage | None) -> Response:
    """The problem as it is, or as a page when a person's browser asked for one."""
    if html is None or not prefers_html(request.url.path, request.headers.get("accept")):
        return response
    problem = json.loads(bytes(response.body))
    headers = {name: value for name, value in response.headers.items() if name not in _BODY_HEADERS}
    return html(request, problem, headers)


def _negotiated(handler: _Handler, html: HtmlErrorPage | None) -> _AnyHandler:
    if html is None:
        return handler

    async def handle(request: Request, exc: Exception) -> Response:
        return negotiate(request, await handler(request, exc), html)

    return handle


def install_problem_handlers(app: FastAPI, *, html: HtmlErrorPage | None = None) -> None:
    """Every error answers problem+json; with `html`, browser navigations outside the API get
    the same status as a page instead (see `prefers_html`)."""
    app.add_exception_handler(GigforgeError, _negotiated(_gigforge_error, html))
    app.add_exception_handler(RequestValidationError, _negotiated(_validation_error, html))
    app.add_exception_handler(StarletteHTTPException, _negotiated(_http_error, html))
    app.add_exception_handler(IntegrityError, _negotiated(_integrity_error, html))
    app.add_exception_handler(Exception, _negotiated(_unexpected_error, html))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            app.openapi_schema = document_problems(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*errors: type[GigforgeError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for an endpoint: every error it can return, as problem+json."""
    by_status: dict[int, list[type[GigforgeError]]] = {}
    documented: tuple[type[GigforgeError], ...] = (*errors, _ValidationDoc)
    for error in documented:
        by_status.setdefault(error.status_code, []).append(error)
    return {
        status: {
            "model": Problem,
            "description": " / ".join(error.title for error in group),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, group in sorted(by_status.items())
    }


class _ValidationDoc(GigforgeError):
    status_code = 422
    code = "validation-failed"
    title = "The request is not valid"
