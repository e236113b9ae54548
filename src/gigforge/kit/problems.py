"""RFC 9457 problem details: the one shape every API error takes."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gigforge.kit.errors import PROBLEM_TYPE_PREFIX, GigforgeError

PROBLEM_CONTENT_TYPE = "application/problem+json"

logger = structlog.get_logger("gigforge.errors")


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


async def _gigforge_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GigforgeError)
    return problem_response(
        request,
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers() or None,
        **exc.extensions,
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
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(
        request,
        status=exc.status_code,
        code=code,
        title=title,
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
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
    """Make the OpenAPI document say what the handlers do: every error is problem+json,
    bodies can be malformed (400) or too large (413)."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _problem_response("The request is not valid")
            if "requestBody" in operation:
                responses.setdefault("400", _problem_response("The body is not valid JSON"))
                responses.setdefault("413", _problem_response("The body is too large"))
    schemas = schema.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    return schema


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GigforgeError, _gigforge_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected_error)

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
