"""Add a job by hand: paste its link and text, and it is stored and scored like a scanned one.

The form posts to the same `import_job` as `POST /api/v1/jobs/opportunities/import`, with the
same limit on the text: a paste over it is refused with its length in the message (the live
counter in `static/char-count.js` shows it while typing), never cut without a word.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from pydantic import ValidationError
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.connections.endpoints import ContextDep
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError
from gigforge.opportunities.inbound import IMPORT_TEXT_LIMIT, ImportTextTooLong, import_job
from gigforge.opportunities.schemas import ImportBody
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

URL_LIMIT = 1000
TITLE_LIMIT = 300
# Far over the limit still gets the friendly message; beyond this the request is refused whole.
_FORM_TEXT_LIMIT = 20 * IMPORT_TEXT_LIMIT
_FIELD_MESSAGES = {
    "url": "Enter the job's link, starting with https://.",
    "title": f"Keep the title under {TITLE_LIMIT} characters.",
    "text": f"Keep the text under {IMPORT_TEXT_LIMIT:,} characters.",
}


async def _page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Viewer,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    context: dict[str, Any] = {
        "viewer": viewer,
        "notices": await needs_attention(session, viewer, settings),
        "values": values or {"url": "", "title": "", "text": ""},
        "errors": errors or {},
        "problem": problem,
        "text_limit": IMPORT_TEXT_LIMIT,
        "url_limit": URL_LIMIT,
        "title_limit": TITLE_LIMIT,
        "can_write": Scope.jobs_write in viewer.principal.scopes,
    }
    return render(request, "import.html", context, status_code=status_code)


@router.get("/opportunities/import")
async def import_form(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: CurrentViewer
) -> Response:
    return await _page(request, session, settings, viewer)


@router.post("/opportunities/import")
async def import_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PostingViewer,
    context: ContextDep,
    url: Annotated[str, Form(max_length=URL_LIMIT * 2)] = "",
    title: Annotated[str, Form(max_length=TITLE_LIMIT * 2)] = "",
    text: Annotated[str, Form(max_length=_FORM_TEXT_LIMIT)] = "",
) -> Response:
    if Scope.jobs_write not in viewer.principal.scopes:
        return error_page(
            request,
            status.HTTP_403_FORBIDDEN,
            "Not allowed",
            "Your role can read opportunities but not add them.",
        )
    values = {"url": url, "title": title, "text": text}
    errors: dict[str, str] = {}
    if len(text) > IMPORT_TEXT_LIMIT:
        errors["text"] = ImportTextTooLong(len(text)).detail
    if not url.strip() and not text.strip():
        errors["text"] = "Paste the job's link, its text, or both."
    body: ImportBody | None = None
    if not errors:
        try:
            body = ImportBody(
                url=url.strip() or None, title=title.strip() or None, text=text or None
            )
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "text"
                errors.setdefault(name, _FIELD_MESSAGES.get(name, "This value is not valid."))
    if body is None:
        return await _page(
            request,
            session,
            settings,
            viewer,
            values=values,
            errors=errors,
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        row = await import_job(session, viewer.principal, context=context, body=body)
    except GigforgeError as exc:
        return await _page(
            request,
            session,
            settings,
            viewer,
            values=values,
            problem=exc.detail,
            status_code=exc.status_code,
        )
    return redirect(request, f"/opportunities/{row.id}")
