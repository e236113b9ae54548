"""The opportunity page, the proposals queue and the job import form in headless Chromium
against `gigforge serve --sandbox`, checked by axe at desktop width and at a phone's 390 px.
Set GIGFORGE_SCREENSHOTS=docs/screenshots to refresh the documentation's pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_web_browser import (
    Server,
    _assert_accessible,
    _browser_page,
    _connect_oauth,
    _register,
    _scan,
    _shots,
    _sign_in,
    server,
    sync_api,
)

from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY

__all__ = ["server"]  # the fixture, used by name

SALARY = "USD 90,000.00\u2013120,000.00 a year"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _connect_form(page: Any, server: Server, slug: str, title: str, **fields: str) -> None:
    page.goto(f"{server.base}/connections")
    card = page.locator(f"#integration-{slug}")
    card.get_by_text(f"Connect {title}").click()
    for label, value in fields.items():
        card.get_by_label(label).fill(value)
    card.get_by_role("button", name="Connect", exact=True).click()
    sync_api.expect(page.locator(".connection-integration", has_text=title)).to_be_visible()


def _fits_the_screen(page: Any) -> None:
    """Nothing wider than the screen; the assertion names what sticks out."""
    wider = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5)
            .map((e) => `${e.tagName}.${e.className} ${e.getBoundingClientRect().right}`)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wider


def _cells_do_not_overlap(page: Any) -> None:
    """On a phone each row is a card whose cells stack: none overlaps the next or spills out."""
    overlaps = page.evaluate(
        """() => [...document.querySelectorAll(".queue tbody tr")].flatMap((row) => {
            const box = row.getBoundingClientRect();
            const cells = [...row.querySelectorAll("td")].map((c) => c.getBoundingClientRect());
            return cells.flatMap((cell, i) => {
                const wrong = [];
                if (cell.left < box.left - 0.5 || cell.right > box.right + 0.5)
                    wrong.push(`cell ${i} spills`);
                if (i > 0 && cell.top < cells[i - 1].bottom - 0.5)
                    wrong.push(`cell ${i} overlaps ${i - 1}`);
                return wrong;
            });
        })"""
    )
    assert overlaps == [], overlaps


def test_outcome_queue_and_import_read_well_on_desktop_and_a_phone_in_chromium(
    server: Server, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    _register(server)
    errors: list[str] = []
    with _browser_page(errors) as page:
        _sign_in(page, server)
        _connect_form(page, server, "openai", "OpenAI", **{"API key": SANDBOX_API_KEY})
        _connect_form(page, server, "remotive", "Remotive")
        _connect_oauth(page, server, "Freelancer.com", "freelancer")
        _scan(server, "freelancer")
        _scan(server, "remotive")

        # A salary range reads as a yearly range; won/lost is recorded on the page.
        page.goto(f"{server.base}/opportunities?platform=remotive")
        page.get_by_role("link", name="Senior Backend Engineer").click()
        sync_api.expect(page.get_by_text(SALARY)).to_be_visible()
        sync_api.expect(page.get_by_text("Not recorded yet.")).to_be_visible()
        page.get_by_role("button", name="Won").click()
        sync_api.expect(page.get_by_text("You won this job.")).to_be_visible()
        sync_api.expect(page.get_by_role("button", name="Won")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.screenshot(path=str(shots / "opportunity.png"), full_page=True)
        _assert_accessible(page)
        page.set_viewport_size(PHONE)
        _fits_the_screen(page)
        _assert_accessible(page)
        page.set_viewport_size(DESKTOP)

        # Two drafts in the queue, one of them with a bid that needs thousands separators.
        for index in (0, 1):
            page.goto(f"{server.base}/opportunities?platform=freelancer")
            page.locator("li.opportunity").nth(index).locator("h2 a").click()
            page.get_by_role("button", name="Draft a proposal").click()
            sync_api.expect(page.get_by_text("Waiting for your approval").first).to_be_visible()
        sync_api.expect(page.locator(".proposal-text, #p-text").first).to_contain_text("Hello")
        page.get_by_label("Bid amount").fill("1e17")
        page.get_by_role("button", name="Save as a new version").click()
        sync_api.expect(page.get_by_text("A bid can be at most")).to_be_visible()
        # The refused save answers 422 on purpose: forget its two reports (response, console).
        refused = [e for e in errors if "422" in e and e.endswith("/versions")]
        assert len(refused) == 2, errors
        errors[:] = [e for e in errors if e not in refused]
        page.get_by_label("Bid amount").fill("1400")
        page.get_by_role("button", name="Save as a new version").click()
        sync_api.expect(page.get_by_text("Version 2: Edited by you")).to_be_visible()
        counter = page.locator("#p-text-count")
        sync_api.expect(counter).to_contain_text("of 10,000 characters")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Proposals").click()
        sync_api.expect(
            page.get_by_role("heading", name="Waiting for your approval")
        ).to_be_visible()
        sync_api.expect(page.get_by_text("1,400.00")).to_be_visible()
        page.screenshot(path=str(shots / "proposals.png"), full_page=True)
        _assert_accessible(page)
        page.set_viewport_size(PHONE)
        _fits_the_screen(page)
        _cells_do_not_overlap(page)
        page.screenshot(path=str(shots / "proposals-phone.png"), full_page=True)
        _assert_accessible(page)

        # Pasting a job: the counter follows the text and says when it is over the limit.
        page.goto(f"{server.base}/opportunities/import")
        text = page.get_by_label("The job's text")
        pasted = "Need a Django developer https://www.upwork.com/jobs/~0123456789abcdef"
        text.fill(pasted)
        sync_api.expect(page.locator("#i-text-count")).to_have_text(
            f"{len(pasted)} of 10,000 characters"
        )
        text.fill("x" * 10_005)
        sync_api.expect(page.locator("#i-text-count")).to_have_text(
            "10,005 of 10,000 characters: 5 over the limit"
        )
        _fits_the_screen(page)
        _assert_accessible(page)
        page.set_viewport_size(DESKTOP)
        page.get_by_role("button", name="Add the job").click()
        sync_api.expect(page.get_by_text("The pasted text is 10,005 characters")).to_be_visible()
        refused = [e for e in errors if "422" in e and e.endswith("/opportunities/import")]
        assert len(refused) == 2, errors
        errors[:] = [e for e in errors if e not in refused]
        _assert_accessible(page)
    assert errors == []
