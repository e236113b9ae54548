"""Settings: the hub and the matching profile.

Each page calls the same services as the API (`/users/me/profile` here, the others in
`pages_settings_auto_approve`, `pages_settings_keys` and `pages_settings_audit`). Forms keep what
was typed as text, so a mistake is shown beside its field instead of being answered with a
422; amounts are typed in major units and parsed with the currency's exponent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import APIRouter, status
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import Response

from gigforge.accounts.api_keys_service import api_keys as api_key_service
from gigforge.accounts.scopes import Scope
from gigforge.kit.money import InvalidAmount, minor_to_major, parse_major_units
from gigforge.kit.pagination import PageParams
from gigforge.opportunities.inbound_endpoints import inbound_endpoints as inbound_service
from gigforge.opportunities.schemas import ProfileBody, ProfileRead
from gigforge.opportunities.service import opportunities as opportunity_service
from gigforge.proposals.auto_approve import auto_approve as auto_approve_service
from gigforge.web.pages_settings_base import (
    PostingPage,
    ReadingPage,
    SettingsPage,
    caps_sentence,
    form_text,
    split_list,
)
from gigforge.web.rendering import DashboardRoute

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

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
            "cap_text": caps_sentence(caps),
            "active_keys": active_keys,
            "endpoint_count": endpoints,
            "can_audit": page.can(Scope.audit_read),
        },
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
