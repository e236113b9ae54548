"""Error pages for people: what the API says as problem+json, said as a dashboard page.

`create_app` hands `render_error_page` to the problem handlers and the body-size limit, which
call it only for browser navigations outside the API (`kit.problems.prefers_html`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.responses import Response

from gigforge.web.rendering import render

# What a person can do about each status, when the problem itself does not say more.
_PLAIN_WORDS: dict[int, tuple[str, str]] = {
    400: ("The request could not be understood", "Go back, check what you entered and retry."),
    401: ("Please sign in", "This page needs you to sign in first."),
    403: ("Not allowed", "Your account is not allowed to do this."),
    404: ("Page not found", "There is no page at this address. Check the link or go back."),
    405: ("This page cannot do that", "The page does not accept this kind of request."),
    409: ("That conflicts with something else", "Reload the page and try again."),
    413: ("Too much data sent", "What you sent is larger than this server accepts."),
    422: ("Some of what was sent is not valid", "Check the address or the form and retry."),
    429: ("Too many attempts", "Wait a moment and try again."),
    500: ("Something went wrong on our side", "It is not your fault; try again in a moment."),
}


def _words(problem: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str, str]:
    status = int(problem.get("status", 500))
    title, advice = _PLAIN_WORDS.get(status, (str(problem.get("title", "Error")), ""))
    detail = problem.get("detail")
    if status == 404:
        where = problem.get("instance") or "this address"
        return title, f"There is no page at {where}. Check the link, or go back."
    if status == 405:
        allowed = headers.get("allow")
        return title, advice + (f" It accepts {allowed}." if allowed else "")
    if status >= 500:
        request_id = problem.get("request_id")
        suffix = f" If it keeps happening, quote the request id {request_id}." if request_id else ""
        return title, advice + suffix
    if isinstance(detail, str) and detail:
        return title, detail
    return title, advice or str(problem.get("title", ""))


def render_error_page(
    request: Request, problem: Mapping[str, Any], headers: Mapping[str, str]
) -> Response:
    title, detail = _words(problem, headers)
    response = render(
        request,
        "error.html",
        {
            "title": title,
            "detail": detail,
            "status": problem.get("status"),
            "viewer": None,
            "notices": [],
        },
        status_code=int(problem.get("status", 500)),
    )
    for name, value in headers.items():
        if name.lower() not in response.headers:
            response.headers[name] = value
    return response


__all__ = ["render_error_page"]
