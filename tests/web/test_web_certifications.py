"""The certification pages over HTTP: levels, the module reader, the exam form (no answer in
it), grading on submit, the time limit and the cool-down as messages on the page."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from factories import Account, register
from gigforge.accounts import profile as profile_module
from gigforge.certifications import catalog, rules
from gigforge.certifications import service as certification_service_module
from gigforge.kit.clock import utcnow
from gigforge.web.pages_certifications import module_html
from web_support import csrf_of, sign_in

OPTION = re.compile(r'name="answer-([^"]+)" value="([a-h])">\s*<label[^>]*>([^<]+)</label>')


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):  # type: ignore[no-untyped-def]
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(certification_service_module, "utcnow", moved)
    monkeypatch.setattr(profile_module, "utcnow", moved)
    return moved


async def _signed_in(web: httpx.AsyncClient) -> tuple[Account, str]:
    account = await register(web)
    await sign_in(web, account)
    page = await web.get("/certifications")
    assert page.status_code == 200, page.text
    return account, csrf_of(page.text)


def _right_answers(level: int, html: str) -> dict[str, str]:
    """For the exam form in `html`: question id -> the option whose text the bank says is right."""
    course = catalog.course(level)
    assert course is not None
    chosen: dict[str, str] = {}
    for question_id, option_id, text in OPTION.findall(html):
        banked = course.question(question_id)
        assert banked is not None
        if text.strip().replace("&#34;", '"').replace("&#39;", "'") == banked.options[0]:
            chosen[question_id] = option_id
    return chosen


async def _open_exam(web: httpx.AsyncClient, csrf: str, level: int = 1) -> str:
    started = await web.post(f"/certifications/{level}/start", data={"csrf_token": csrf})
    assert started.status_code == 303, started.text
    assert started.headers["location"] == f"/certifications/{level}/exam"
    exam = await web.get(f"/certifications/{level}/exam")
    assert exam.status_code == 200
    return exam.text


async def test_the_overview_lists_every_level_with_its_status(web: httpx.AsyncClient) -> None:
    await _signed_in(web)
    page = await web.get("/certifications")
    assert "Your certification level: <strong>0</strong>" in page.text
    for level, course in catalog.courses().items():
        assert f"Level {level}: {course.title}" in page.text
    assert page.text.count("Not earned") == 3


async def test_the_reader_renders_a_module_as_html(web: httpx.AsyncClient) -> None:
    await _signed_in(web)
    page = await web.get("/courses/level1/module1")
    assert page.status_code == 200
    assert "<h1>Marketplace terms and official channels</h1>" in page.text
    assert "<table>" in page.text
    assert "Next: Approval before submitting" in page.text
    assert (await web.get("/courses/level1/module9")).status_code == 404
    assert (await web.get("/courses/level8/module1")).status_code == 404


def test_module_html_passes_no_raw_html_or_script_links() -> None:
    html = module_html(
        '# T\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <b onclick="x">b</b>'
    )
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert "<b " not in html
    assert "&lt;b onclick" in html  # shown as text, never as markup
    assert "<h1>T</h1>" in html


async def test_take_and_pass_the_exam_in_the_dashboard(web: httpx.AsyncClient) -> None:
    account, csrf = await _signed_in(web)
    exam = await _open_exam(web, csrf)
    assert "correct" not in exam.lower()
    assert 'data-seconds-left="' in exam
    right = _right_answers(1, exam)
    assert len(right) == rules.FULL_EXAM.questions
    attempt_id = re.search(r'name="attempt_id" value="([^"]+)"', exam)
    assert attempt_id is not None
    graded = await web.post(
        "/certifications/1/exam",
        data={
            "csrf_token": csrf,
            "attempt_id": attempt_id.group(1),
            **{f"answer-{question}": option for question, option in right.items()},
        },
    )
    assert graded.status_code == 303
    assert graded.headers["location"].startswith("/certifications/1/results?attempt=")
    results = await web.get(graded.headers["location"])
    assert "Passed: 10 of 10 right (100%)" in results.text
    assert "You hold level 1 until" in results.text
    overview = await web.get("/certifications")
    assert "Your certification level: <strong>1</strong>" in overview.text
    me = await web.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 1


async def test_a_late_submission_says_time_ran_out_and_the_retake_waits(
    web: httpx.AsyncClient, clock: Clock
) -> None:
    _, csrf = await _signed_in(web)
    exam = await _open_exam(web, csrf)
    attempt_id = re.search(r'name="attempt_id" value="([^"]+)"', exam)
    assert attempt_id is not None
    clock.now += rules.FULL_EXAM.time_limit + timedelta(minutes=1)
    graded = await web.post(
        "/certifications/1/exam",
        data={
            "csrf_token": csrf,
            "attempt_id": attempt_id.group(1),
            **{f"answer-{q}": o for q, o in _right_answers(1, exam).items()},
        },
    )
    results = await web.get(graded.headers["location"])
    assert "Time ran out: 0 of 10 right" in results.text
    assert "were not graded" in results.text
    again = await web.post("/certifications/1/start", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert "The next attempt at level 1 opens at" in again.text
    assert again.headers["content-type"].startswith("text/html")


async def test_level_two_waits_for_level_one_with_a_message(web: httpx.AsyncClient) -> None:
    _, csrf = await _signed_in(web)
    refused = await web.post("/certifications/2/start", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert "Level 2 needs level 1 held and not expired first." in refused.text
    assert (await web.get("/certifications/2/exam")).status_code == 303


async def test_the_exam_form_needs_its_csrf_token(web: httpx.AsyncClient) -> None:
    await _signed_in(web)
    refused = await web.post("/certifications/1/start", data={})
    assert refused.status_code == 403
    assert "This form has expired" in refused.text


async def test_the_auto_approve_page_points_to_level_one_and_refuses_turning_on_without_it(
    web: httpx.AsyncClient,
) -> None:
    _, csrf = await _signed_in(web)
    page = await web.get("/settings/auto-approve")
    assert "Turning the rule on needs certification level 1" in page.text
    assert 'href="/certifications/1"' in page.text
    refused = await web.post(
        "/settings/auto-approve",
        data={
            "csrf_token": csrf,
            "enabled": "on",
            "max_budget": "100",
            "min_chance": "90",
            "max_per_day": "1",
        },
    )
    assert refused.status_code == 403
    assert "To turn on an auto-approve rule you need certification level 1" in refused.text
    assert "Now: off" in refused.text
