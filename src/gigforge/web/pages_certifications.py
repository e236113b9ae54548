"""Certifications in the dashboard: levels held, each level's course, the module reader, the
exam (timer shown, time limit kept by the server) and results. Every page reads the same
service as the API; an exam page shows prompts and options only, never which one is right."""

from __future__ import annotations

import uuid
from typing import Any

import nh3
from fastapi import APIRouter, status
from markdown_it import MarkdownIt
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.certifications import rules
from gigforge.certifications.errors import UnknownLevel, UnknownModule
from gigforge.certifications.schemas import CertificationRead, ExamResultRead
from gigforge.certifications.service import certifications as certification_service
from gigforge.kit.errors import GigforgeError
from gigforge.web.pages_settings_base import PostingPage, ReadingPage, SettingsPage
from gigforge.web.rendering import DashboardRoute, error_page

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "h1", "h2", "h3", "h4", "p", "br", "hr", "ul", "ol", "li", "strong", "em", "code", "pre",
    "blockquote", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
STATUS_LABELS = {"active": "Held", "expired": "Expired", "not_earned": "Not earned"}
RESULT_LABELS = {"passed": "Passed", "failed": "Not passed", "expired": "Time ran out"}
DONE_MESSAGES = {"submitted": "Your answers were graded."}


def module_html(markdown: str) -> str:
    """A module's Markdown as HTML; raw HTML in the source is not passed through, and the
    result is cleaned again to a small set of tags."""
    return nh3.clean(
        _MARKDOWN.render(markdown),
        tags=_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def _not_found(page: SettingsPage, exc: GigforgeError) -> Response:
    return error_page(page.request, status.HTTP_404_NOT_FOUND, exc.title, exc.detail)


async def _level_page(
    page: SettingsPage,
    level: int,
    *,
    problem: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    try:
        course = certification_service.course(level)
    except UnknownLevel as exc:
        return _not_found(page, exc)
    principal = page.viewer.principal
    mine = await certification_service.mine(page.session, principal)
    standing: CertificationRead = next(c for c in mine.certifications if c.level == level)
    results = await certification_service.results(page.session, principal, level=level)
    return await page.render(
        "certification_level.html",
        {
            "course": course,
            "standing": standing,
            "status_labels": STATUS_LABELS,
            "results": results.results[:5],
            "in_progress": results.in_progress,
            "result_labels": RESULT_LABELS,
            "can_take": page.can(Scope.certifications_write),
            "cool_down_hours": int(rules.COOL_DOWN.total_seconds() // 3600),
            "problem": problem,
        },
        status_code=status_code,
    )


@router.get("/certifications")
async def certifications_page(page: ReadingPage) -> Response:
    mine = await certification_service.mine(page.session, page.viewer.principal)
    return await page.render(
        "certifications.html",
        {
            "mine": mine,
            "courses": {course.level: course for course in certification_service.courses()},
            "status_labels": STATUS_LABELS,
        },
    )


@router.get("/certifications/{level}")
async def level_page(level: int, page: ReadingPage) -> Response:
    return await _level_page(page, level)


@router.get("/courses/level{level}/module{number}")
async def module_page(level: int, number: int, page: ReadingPage) -> Response:
    try:
        module = certification_service.module_by_number(level, number)
        course = certification_service.course(level)
    except (UnknownLevel, UnknownModule) as exc:
        return _not_found(page, exc)
    modules = course.modules
    index = next(i for i, item in enumerate(modules) if item.module_id == module.module_id)
    return await page.render(
        "course_module.html",
        {
            "course": course,
            "module": module,
            "body": module_html(module.markdown),
            "previous": modules[index - 1] if index > 0 else None,
            "next": modules[index + 1] if index + 1 < len(modules) else None,
        },
    )


async def _open(page: SettingsPage, level: int, *, renewal: bool) -> Response:
    if not page.can(Scope.certifications_write):
        return page.forbidden("take certification exams")
    opening = certification_service.renew if renewal else certification_service.start
    try:
        await opening(page.session, page.viewer.principal, level=level)
    except UnknownLevel as exc:
        return _not_found(page, exc)
    except GigforgeError as exc:
        return await _level_page(page, level, problem=exc.detail, status_code=exc.status_code)
    return page.redirect(f"/certifications/{level}/exam")


@router.post("/certifications/{level}/start")
async def start_exam(level: int, page: PostingPage) -> Response:
    return await _open(page, level, renewal=False)


@router.post("/certifications/{level}/renew")
async def renew(level: int, page: PostingPage) -> Response:
    return await _open(page, level, renewal=True)


@router.get("/certifications/{level}/exam")
async def exam_page(level: int, page: ReadingPage) -> Response:
    try:
        attempt = await certification_service.current(
            page.session, page.viewer.principal, level=level
        )
    except UnknownLevel as exc:
        return _not_found(page, exc)
    if attempt is None:
        return page.redirect(f"/certifications/{level}")
    return await page.render(
        "certification_exam.html",
        {"attempt": attempt, "course": certification_service.course(level)},
    )


def _answers(form: Any) -> list[tuple[str, str]]:
    answers = []
    for name, value in form.multi_items():
        if name.startswith("answer-") and isinstance(value, str) and value:
            answers.append((name.removeprefix("answer-")[:20], value[:20]))
    return answers


@router.post("/certifications/{level}/exam")
async def submit_exam(level: int, page: PostingPage) -> Response:
    if not page.can(Scope.certifications_write):
        return page.forbidden("take certification exams")
    form = await page.request.form()
    try:
        attempt_id = uuid.UUID(str(form.get("attempt_id", "")))
    except ValueError:
        return await _level_page(
            page,
            level,
            problem="The form did not name an exam attempt; start the exam again.",
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        result = await certification_service.submit(
            page.session,
            page.viewer.principal,
            level=level,
            attempt_id=attempt_id,
            answers=_answers(form),
        )
    except UnknownLevel as exc:
        return _not_found(page, exc)
    except GigforgeError as exc:
        return await _level_page(page, level, problem=exc.detail, status_code=exc.status_code)
    return page.redirect(f"/certifications/{level}/results?attempt={result.attempt_id}")


@router.get("/certifications/{level}/results")
async def results_page(level: int, page: ReadingPage, attempt: str = "") -> Response:
    try:
        course = certification_service.course(level)
        results = await certification_service.results(
            page.session, page.viewer.principal, level=level
        )
    except UnknownLevel as exc:
        return _not_found(page, exc)
    latest: ExamResultRead | None = next(
        (item for item in results.results if str(item.attempt_id) == attempt), None
    )
    titles = {module.module_id: module for module in course.modules}
    return await page.render(
        "certification_results.html",
        {
            "course": course,
            "results": results.results,
            "latest": latest,
            "modules": titles,
            "result_labels": RESULT_LABELS,
        },
    )
