"""A level 1 exam taken and passed in headless Chromium against `gigforge serve --sandbox`,
checked by axe at desktop width and at a phone's 390 px. The right answers come from the
question bank files, never from the page. Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh
docs/screenshots/certifications.png and exam.png."""

from __future__ import annotations

import re
from pathlib import Path

from test_web_browser import (
    Server,
    _assert_accessible,
    _browser_page,
    _register,
    _shots,
    _sign_in,
    server,
    sync_api,
)

from gigforge.certifications import catalog, rules

__all__ = ["server"]  # the fixture, used by name


def test_read_a_module_then_take_and_pass_the_level_one_exam_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    course = catalog.course(1)
    assert course is not None
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Certifications"
        ).click()
        sync_api.expect(page.get_by_text("Your certification level:")).to_contain_text("0")
        page.screenshot(path=str(shots / "certifications.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("link", name="Study and take the level 1 exam").click()
        sync_api.expect(
            page.get_by_role("heading", name=f"Level 1: {course.title}")
        ).to_be_visible()
        _assert_accessible(page)
        page.get_by_role("link", name=f"1.1 {course.modules[0].title}").click()
        sync_api.expect(page.get_by_role("heading", name=course.modules[0].title)).to_be_visible()
        sync_api.expect(page.get_by_role("table")).to_be_visible()
        _assert_accessible(page)
        page.get_by_role("link", name="Level 1", exact=True).click()

        page.get_by_role("button", name="Start the level 1 exam").click()
        page.wait_for_url(f"{server.base}/certifications/1/exam")
        timer = page.locator("#exam-time-left")
        sync_api.expect(timer).to_have_text(re.compile(r"^(19|20):\d\d$"))
        answered = 0
        for question in course.questions:
            block = page.locator(f'fieldset:has(input[name="answer-{question.question_id}"])')
            if block.count() == 0:
                continue
            block.get_by_label(question.options[0], exact=True).check()
            answered += 1
        assert answered == rules.FULL_EXAM.questions
        page.screenshot(path=str(shots / "exam.png"), full_page=True)
        _assert_accessible(page)

        page.get_by_role("button", name="Submit my answers").click()
        sync_api.expect(
            page.get_by_role("heading", name="Passed: 10 of 10 right (100%)")
        ).to_be_visible()
        sync_api.expect(page.get_by_text("You hold level 1 until")).to_be_visible()
        _assert_accessible(page)

        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Certifications"
        ).click()
        sync_api.expect(page.get_by_text("Your certification level:")).to_contain_text("1")

        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _assert_accessible(page)
    assert errors == []
