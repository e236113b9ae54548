"""Settings: the auto-approve rule and its caps, on the service behind
`/proposals-auto-approve`. The chance of winning is typed as a percentage."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, status
from starlette.datastructures import FormData
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.certifications.rules import AUTO_APPROVE_LEVEL
from gigforge.certifications.service import certifications as certification_service
from gigforge.kit.errors import GigforgeError
from gigforge.kit.money import InvalidAmount, minor_to_major, parse_major_units
from gigforge.proposals.auto_approve import CAP_CURRENCY, MAX_PER_DAY, AutoApproveCaps
from gigforge.proposals.auto_approve import auto_approve as auto_approve_service
from gigforge.web.pages_settings_base import (
    PostingPage,
    ReadingPage,
    SettingsPage,
    caps_sentence,
    form_text,
    problem_lines,
)
from gigforge.web.rendering import DashboardRoute

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


@dataclass
class CapsForm:
    """The auto-approve form as typed; the chance of winning is typed as a percentage."""

    enabled: bool = False
    max_budget: str = ""
    min_chance: str = ""
    max_per_day: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, caps: AutoApproveCaps) -> CapsForm:
        return cls(
            enabled=caps.enabled,
            max_budget=str(minor_to_major(caps.max_budget_minor, caps.currency)),
            min_chance=f"{caps.min_score * 100:g}",
            max_per_day=str(caps.max_per_day),
        )

    @classmethod
    def typed(cls, form: FormData) -> CapsForm:
        return cls(
            enabled=form_text(form, "enabled") == "on",
            max_budget=form_text(form, "max_budget"),
            min_chance=form_text(form, "min_chance").removesuffix("%").strip(),
            max_per_day=form_text(form, "max_per_day"),
        )

    def parsed(self) -> tuple[int, float, int] | None:
        max_budget_minor = 0
        try:
            max_budget_minor = parse_major_units(self.max_budget or "0", CAP_CURRENCY)
        except InvalidAmount as exc:
            self.errors["max_budget"] = str(exc)
        min_score = 0.0
        try:
            min_score = float(self.min_chance or "0") / 100
            if not 0 <= min_score <= 1:
                raise ValueError
        except ValueError:
            self.errors["min_chance"] = "Enter a percentage from 0 to 100, such as 90."
        max_per_day = 0
        try:
            max_per_day = int(self.max_per_day or "0")
            if not 0 <= max_per_day <= MAX_PER_DAY:
                raise ValueError
        except ValueError:
            self.errors["max_per_day"] = f"Enter a whole number from 0 to {MAX_PER_DAY}."
        if self.errors:
            return None
        return max_budget_minor, min_score, max_per_day


async def _caps_page(
    page: SettingsPage,
    caps: AutoApproveCaps,
    form: CapsForm,
    *,
    saved: bool = False,
    problem: list[str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return await page.render(
        "settings_auto_approve.html",
        {
            "caps": caps,
            "cap_text": caps_sentence(caps),
            "form": form,
            "saved": saved,
            "problem": problem,
            "currency": CAP_CURRENCY,
            "max_per_day_limit": MAX_PER_DAY,
            "can_write": page.can(Scope.jobs_write),
            "certification_level": await certification_service.level_of(
                page.session, page.viewer.principal.user_id
            ),
            "required_level": AUTO_APPROVE_LEVEL,
        },
        status_code=status_code,
    )


@router.get("/settings/auto-approve")
async def auto_approve_page(page: ReadingPage, saved: str = "") -> Response:
    caps = await auto_approve_service.get(page.session, page.viewer.principal)
    return await _caps_page(page, caps, CapsForm.of(caps), saved=saved == "1")


@router.post("/settings/auto-approve")
async def save_auto_approve(page: PostingPage) -> Response:
    if not page.can(Scope.jobs_write):
        return page.forbidden("change the auto-approve rule")
    form = CapsForm.typed(await page.request.form())
    parsed = form.parsed()
    caps = await auto_approve_service.get(page.session, page.viewer.principal)
    if parsed is None:
        return await _caps_page(page, caps, form, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    max_budget_minor, min_score, max_per_day = parsed
    try:
        await auto_approve_service.put(
            page.session,
            page.viewer.principal,
            enabled=form.enabled,
            max_budget_minor=max_budget_minor,
            min_score=min_score,
            max_per_day=max_per_day,
        )
    except GigforgeError as exc:
        return await _caps_page(
            page, caps, form, problem=problem_lines(exc), status_code=exc.status_code
        )
    return page.redirect("/settings/auto-approve?saved=1")
