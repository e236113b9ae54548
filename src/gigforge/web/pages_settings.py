"""Settings: the hub, the matching profile and the auto-approve rule.

Each page calls the same services as the API (`/users/me/profile`, `/proposals-auto-approve`).
Forms keep what was typed as text, so a mistake is shown beside its field instead of being
answered with a 422; amounts are typed in major units and parsed with the currency's exponent.
API keys and inbound endpoints live in `pages_settings_keys`, the audit log in
`pages_settings_audit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from gigforge.accounts.api_keys_service import api_keys as api_key_service
from gigforge.accounts.scopes import Scope
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError
from gigforge.kit.money import InvalidAmount, minor_to_major, parse_major_units
from gigforge.kit.pagination import PageParams
from gigforge.opportunities.inbound_endpoints import inbound_endpoints as inbound_service
from gigforge.opportunities.schemas import ProfileBody, ProfileRead
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.proposals.auto_approve import (
    CAP_CURRENCY,
    MAX_PER_DAY,
    AutoApproveCaps,
)
from gigforge.proposals.auto_approve import auto_approve as auto_approve_service
from gigforge.settings import Settings
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

SECTIONS = (
    ("/settings/profile", "Matching profile"),
    ("/settings/auto-approve", "Auto-approve"),
    ("/settings/api-keys", "API keys"),
    ("/settings/inbound", "Inbound webhooks"),
    ("/settings/audit", "Audit log"),
)
# Lists are checked item by item by the schema; this only bounds what is read.
MAX_FIELD = 20_000
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_PROFILE_FIELDS = {
    "skills",
    "hourly_rate",
    "min_budget",
    "currency",
    "categories",
    "excluded_keywords",
    "min_client_rating",
    "excluded_countries",
}


@dataclass(frozen=True)
class SettingsPage:
    """What every settings handler renders with."""

    request: Request
    session: AsyncSession
    settings: Settings
    viewer: Viewer

    def can(self, scope: Scope) -> bool:
        return scope in self.viewer.principal.scopes

    async def render(
        self, template: str, context: dict[str, Any], *, status_code: int = status.HTTP_200_OK
    ) -> Response:
        return render(
            self.request,
            template,
            {
                "viewer": self.viewer,
                "notices": await needs_attention(self.session, self.viewer, self.settings),
                "sections": SECTIONS,
                **context,
            },
            status_code=status_code,
        )

    def forbidden(self, what: str) -> Response:
        return error_page(
            self.request,
            status.HTTP_403_FORBIDDEN,
            "Not allowed",
            f"Your role can not {what}.",
        )

    def redirect(self, location: str) -> Response:
        return redirect(self.request, location)


async def _reading(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: CurrentViewer
) -> SettingsPage:
    return SettingsPage(request, session, settings, viewer)


async def _posting(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: PostingViewer
) -> SettingsPage:
    return SettingsPage(request, session, settings, viewer)


ReadingPage = Annotated[SettingsPage, Depends(_reading)]
PostingPage = Annotated[SettingsPage, Depends(_posting)]


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""


def split_list(text: str, separator: str = ",") -> list[str]:
    return [item.strip() for item in text.split(separator) if item.strip()]


def problem_lines(exc: GigforgeError) -> list[str]:
    """A problem's detail and its per-field messages, as sentences for the page."""
    lines = [exc.detail]
    for error in exc.extensions.get("errors", []):
        where = ".".join(str(part) for part in error.get("loc", [])[1:])
        lines.append(f"{where.replace('_', ' ')}: {error.get('msg', '')}".strip(": "))
    return lines


# -- the hub ---------------------------------------------------------------------------------


@router.get("/settings")
async def settings_hub(page: ReadingPage) -> Response:
    principal = page.viewer.principal
    everything = PageParams(limit=100, offset=0)
    profile = (
        await opportunity_service.profile(page.session, principal)
        if page.can(Scope.jobs_read)
        else None
    )
    caps = await auto_approve_service.get(page.session, principal)
    keys = (
        (await api_key_service.list(page.session, principal, page=everything))[0]
        if page.can(Scope.api_keys_read)
        else None
    )
    endpoints = (
        (await inbound_service.list(page.session, principal, page=everything))[1]
        if page.can(Scope.jobs_read)
        else None
    )
    active_keys = None if keys is None else sum(1 for key in keys if key.revoked_at is None)
    return await page.render(
        "settings.html",
        {
            "profile": profile,
            "caps": caps,
            "cap_text": _caps_sentence(caps),
            "active_keys": active_keys,
            "endpoint_count": endpoints,
            "can_audit": page.can(Scope.audit_read),
        },
    )


def _caps_sentence(caps: AutoApproveCaps) -> str:
    if not caps.enabled:
        return "Off: every proposal waits for you to approve it."
    budget = minor_to_major(caps.max_budget_minor, caps.currency)
    return (
        f"On: budgets up to {budget:,} in the listing's currency, a chance of winning of at "
        f"least {caps.min_score:.0%}, at most {caps.max_per_day} a day."
    )


# -- the matching profile --------------------------------------------------------------------


@dataclass
class ProfileForm:
    """The profile form as typed."""

    skills: str = ""
    hourly_rate: str = ""
    min_budget: str = ""
    currency: str = "USD"
    categories: str = ""
    excluded_keywords: str = ""
    require_payment_verified: bool = False
    min_client_rating: str = ""
    excluded_countries: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: ProfileRead) -> ProfileForm:
        return cls(
            skills=", ".join(profile.skills),
            hourly_rate="" if profile.hourly_rate is None else str(profile.hourly_rate),
            min_budget="" if profile.min_budget is None else str(profile.min_budget),
            currency=profile.currency,
            categories="\n".join(profile.categories),
            excluded_keywords=", ".join(profile.excluded_keywords),
            require_payment_verified=profile.require_payment_verified,
            min_client_rating=(
                "" if profile.min_client_rating is None else f"{profile.min_client_rating:g}"
            ),
            excluded_countries=", ".join(profile.excluded_countries),
        )

    @classmethod
    def typed(cls, form: FormData) -> ProfileForm:
        return cls(
            skills=form_text(form, "skills"),
            hourly_rate=form_text(form, "hourly_rate"),
            min_budget=form_text(form, "min_budget"),
            currency=form_text(form, "currency").upper() or "USD",
            categories=form_text(form, "categories"),
            excluded_keywords=form_text(form, "excluded_keywords"),
            require_payment_verified=form_text(form, "require_payment_verified") == "on",
            min_client_rating=form_text(form, "min_client_rating"),
            excluded_countries=form_text(form, "excluded_countries"),
        )

    def _amount(self, name: str, text: str) -> str | None:
        """Major units exactly as the currency allows, or None when left empty."""
        if not text or name in self.errors:
            return None
        try:
            minor = parse_major_units(text, self.currency)
        except InvalidAmount as exc:
            self.errors[name] = str(exc)
            return None
        return str(minor_to_major(minor, self.currency))

    def body(self) -> ProfileBody | None:
        if not _CURRENCY.match(self.currency):
            self.errors["currency"] = "Enter a three-letter currency code such as USD or EUR."
            self.errors["hourly_rate"] = self.errors["min_budget"] = (
                "Fix the currency first: amounts are read in it."
            )
        hourly_rate = self._amount("hourly_rate", self.hourly_rate)
        min_budget = self._amount("min_budget", self.min_budget)
        rating: str | None = self.min_client_rating or None
        if rating is not None:
            try:
                if not 0 <= float(rating) <= 5:
                    raise ValueError
            except ValueError:
                self.errors["min_client_rating"] = "Enter a rating from 0 to 5, such as 4.5."
        if self.errors:
            return None
        try:
            return ProfileBody.model_validate(
                {
                    "skills": split_list(self.skills),
                    "hourly_rate": hourly_rate,
                    "min_budget": min_budget,
                    "currency": self.currency,
                    "categories": split_list(self.categories, "\n"),
                    "excluded_keywords": split_list(self.excluded_keywords),
                    "require_payment_verified": self.require_payment_verified,
                    "min_client_rating": rating,
                    "excluded_countries": split_list(self.excluded_countries),
                }
            )
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                target = name if name in _PROFILE_FIELDS else "skills"
                detail = (
                    f"item {int(error['loc'][1]) + 1}: "
                    if len(error["loc"]) > 1 and isinstance(error["loc"][1], int)
                    else ""
                )
                self.errors.setdefault(target, f"{detail}{error['msg']}.")
            return None


async def _profile_page(
    page: SettingsPage,
    profile: ProfileRead,
    form: ProfileForm,
    *,
    saved: bool = False,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return await page.render(
        "settings_profile.html",
        {
            "profile": profile,
            "form": form,
            "saved": saved,
            "can_write": page.can(Scope.jobs_write),
        },
        status_code=status_code,
    )


@router.get("/settings/profile")
async def profile_page(page: ReadingPage, saved: str = "") -> Response:
    if not page.can(Scope.jobs_read):
        return page.forbidden("read the matching profile")
    profile = await opportunity_service.profile(page.session, page.viewer.principal)
    return await _profile_page(page, profile, ProfileForm.of(profile), saved=saved == "1")


@router.post("/settings/profile")
async def save_profile(page: PostingPage) -> Response:
    if not page.can(Scope.jobs_write):
        return page.forbidden("change the matching profile")
    form = ProfileForm.typed(await page.request.form())
    body = form.body()
    if body is None:
        profile = await opportunity_service.profile(page.session, page.viewer.principal)
        return await _profile_page(
            page, profile, form, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    await opportunity_service.put_profile(page.session, page.viewer.principal, body=body)
    return page.redirect("/settings/profile?saved=1")


# -- auto-approve ----------------------------------------------------------------------------


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
            "cap_text": _caps_sentence(caps),
            "form": form,
            "saved": saved,
            "problem": problem,
            "currency": CAP_CURRENCY,
            "max_per_day_limit": MAX_PER_DAY,
            "can_write": page.can(Scope.jobs_write),
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
