"""What every settings page shares: the request bundle with its viewer, the sections' menu,
and small helpers for forms typed as text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, status
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from gigforge.accounts.scopes import Scope
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError
from gigforge.kit.money import minor_to_major
from gigforge.proposals.auto_approve import AutoApproveCaps
from gigforge.settings import Settings
from gigforge.web.rendering import error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer

SECTIONS = (
    ("/settings/profile", "Matching profile"),
    ("/settings/auto-approve", "Auto-approve"),
    ("/settings/api-keys", "API keys"),
    ("/settings/inbound", "Inbound webhooks"),
    ("/settings/webhooks", "Webhooks"),
    ("/settings/developer-apps", "Developer apps"),
    ("/settings/authorized-apps", "Authorized apps"),
    ("/settings/audit", "Audit log"),
)
# Lists are checked item by item by the schema; this only bounds what is read.
MAX_FIELD = 20_000


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


def caps_sentence(caps: AutoApproveCaps) -> str:
    if not caps.enabled:
        return "Off: every proposal waits for you to approve it."
    budget = minor_to_major(caps.max_budget_minor, caps.currency)
    return (
        f"On: budgets up to {budget:,} in the listing's currency, a chance of winning of at "
        f"least {caps.min_score:.0%}, at most {caps.max_per_day} a day."
    )
