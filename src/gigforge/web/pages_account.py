"""The account page: name and email, password, and the sessions signed in to the account.

Changes go through the same services as `PATCH /users/me` (current password required for
the email and the password) and every session action is audited by the sessions service.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.errors import CurrentPasswordIncorrect, EmailTaken
from gigforge.accounts.models import AuthSession
from gigforge.accounts.passwords import MIN_LENGTH
from gigforge.accounts.schemas import UserUpdate
from gigforge.accounts.sessions_service import sessions as session_service
from gigforge.accounts.users_service import users as user_service
from gigforge.kit.deps import SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError, NotFound
from gigforge.settings import Settings
from gigforge.web.form_errors import FieldErrors, from_problem, from_validation
from gigforge.web.rendering import DashboardRoute, error_page, needs_attention, redirect, render
from gigforge.web.session import CurrentViewer, PostingViewer, Viewer, clear_session_cookies

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

DONE_MESSAGES = {
    "profile": "Your profile is saved.",
    "password": "Your password is changed. Your other sessions were signed out.",
    "session": "That session is signed out.",
    "others": "Every other session is signed out; only this browser stays signed in.",
    "nothing": "Nothing changed.",
}
CURRENT_PASSWORD_MISSING = "Enter your current password to make this change."  # noqa: S105 - a message
WRONG_CURRENT_PASSWORD = "The current password is incorrect."  # noqa: S105 - a message
PROFILE_MISSING = {"full_name": "Enter your name.", "email": "Enter your email address."}
PASSWORD_MISSING = {
    "new_password": "Choose a new password.",
    "current_password": CURRENT_PASSWORD_MISSING,
}

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-httpx/", "httpx"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
UNKNOWN_DEVICE_MAX = 60


def describe_user_agent(user_agent: str | None) -> str:
    """A person's words for a User-Agent header ("Firefox on Linux"); the raw string when
    nothing in it is recognised."""
    if not user_agent:
        return "Unknown device"
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return str(browser or system)
    short = user_agent[:UNKNOWN_DEVICE_MAX]
    return short + ("\u2026" if len(user_agent) > UNKNOWN_DEVICE_MAX else "")


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    device: str
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    current: bool


def _rows(sessions: Sequence[AuthSession], current: uuid.UUID | None) -> list[SessionRow]:
    rows = [
        SessionRow(
            id=row.id,
            device=describe_user_agent(row.user_agent),
            ip=row.ip,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            current=row.id == current,
        )
        for row in sessions
    ]
    return sorted(rows, key=lambda row: not row.current)  # this browser first, stable otherwise


async def _page(
    request: Request,
    session: AsyncSession,
    viewer: Viewer,
    settings: Settings,
    *,
    form: str | None = None,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    user = viewer.principal.user
    live = await session_service.list_live(session, viewer.principal, settings=settings)
    rows = _rows(live, viewer.principal.session_id)
    return render(
        request,
        "account.html",
        {
            "viewer": viewer,
            "notices": await needs_attention(session, viewer, settings),
            "user": user,
            "values": values or {"full_name": user.full_name, "email": user.email},
            "form": form,
            "errors": errors or {},
            "done": DONE_MESSAGES.get(done or ""),
            "sessions": rows,
            "others": sum(not row.current for row in rows),
            "min_password_length": MIN_LENGTH,
            "refresh_days": settings.refresh_token_ttl.days,
        },
        status_code=status_code,
    )


@router.get("/account")
async def account_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: CurrentViewer,
    done: str | None = None,
) -> Response:
    return await _page(request, session, viewer, settings, done=done)


@router.post("/account/profile")
async def update_profile(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PostingViewer,
    full_name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
) -> Response:
    """Name and email, as `PATCH /users/me`. A new email is saved first, by itself, so that a
    refusal (wrong password, taken address) leaves the name unchanged too."""
    user = viewer.principal.user
    values = {"full_name": full_name.strip(), "email": email.strip()}
    errors: FieldErrors = {}
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    updates = []
    try:
        if values["email"].lower() != user.email:
            updates.append(
                UserUpdate(email=values["email"], current_password=current_password or None)
            )
        if values["full_name"] != user.full_name:
            updates.append(UserUpdate(full_name=values["full_name"]))
        for update in updates:
            await user_service.update_me(
                session, viewer.principal, settings=settings, update=update
            )
    except ValidationError as exc:
        errors = from_validation(exc, missing=PROFILE_MISSING)
    except GigforgeError as exc:
        status_code = exc.status_code
        if isinstance(exc, EmailTaken):
            errors = {"email": "Another account already uses this email."}
        elif isinstance(exc, CurrentPasswordIncorrect):
            errors = {"current_password": WRONG_CURRENT_PASSWORD}
        else:
            errors = from_problem(exc, missing={"current_password": CURRENT_PASSWORD_MISSING})
    if errors:
        return await _page(
            request,
            session,
            viewer,
            settings,
            form="profile",
            errors=errors,
            values=values,
            status_code=status_code,
        )
    return redirect(request, "/account?done=" + ("profile" if updates else "nothing"))


@router.post("/account/password")
async def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PostingViewer,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    """A new password with the current one; every other session is signed out, this one stays."""
    errors: FieldErrors = {}
    status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    if new_password and new_password != confirm_password:
        errors = {"confirm_password": "The two new passwords differ; type the same one twice."}
    else:
        try:
            update = UserUpdate(
                new_password=new_password, current_password=current_password or None
            )
            await user_service.update_me(
                session, viewer.principal, settings=settings, update=update
            )
        except ValidationError as exc:
            errors = from_validation(exc, missing=PASSWORD_MISSING)
        except CurrentPasswordIncorrect as exc:
            errors, status_code = {"current_password": WRONG_CURRENT_PASSWORD}, exc.status_code
        except GigforgeError as exc:
            errors = from_problem(
                exc, rename={"password": "new_password"}, missing=PASSWORD_MISSING
            )
            status_code = exc.status_code
    if errors:
        return await _page(
            request,
            session,
            viewer,
            settings,
            form="password",
            errors=errors,
            status_code=status_code,
        )
    return redirect(request, "/account?done=password")


@router.post("/account/sessions/others/revoke")
async def revoke_other_sessions(
    request: Request, session: SessionDep, viewer: PostingViewer
) -> Response:
    await session_service.revoke_others(session, viewer.principal)
    return redirect(request, "/account?done=others")


@router.post("/account/sessions/{session_id}/revoke")
async def revoke_session(
    request: Request,
    session_id: str,
    session: SessionDep,
    settings: SettingsDep,
    viewer: PostingViewer,
) -> Response:
    """Sign one session out; signing out this browser's own session is signing out."""
    try:
        target = uuid.UUID(session_id)
        await session_service.revoke(session, viewer.principal, session_id=target)
    except (ValueError, NotFound):
        return error_page(
            request,
            status.HTTP_404_NOT_FOUND,
            "No such session",
            "That session has already ended, or it is not one of yours.",
        )
    if target == viewer.principal.session_id:
        request.state.web_refreshed = None
        response = redirect(request, "/login")
        clear_session_cookies(response, settings)
        return response
    return redirect(request, "/account?done=session")
