"""Signing up, in and out of the dashboard, and resetting a forgotten password.

Every form here is filled in before there is a session, so its CSRF token is bound to a
random nonce cookie (`login_csrf_token`) instead of a session id. The rules (password policy,
taken emails, throttles, single-use reset codes) are the accounts service's; these pages only
show its answers beside the fields they are about.
"""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.endpoints import send_reset_email
from gigforge.accounts.errors import EmailTaken, InvalidToken, LoginThrottled, WeakPassword
from gigforge.accounts.passwords import MIN_LENGTH
from gigforge.accounts.schemas import PasswordResetConfirm, PasswordResetRequest, RegisterRequest
from gigforge.accounts.service import auth as auth_service
from gigforge.kit.deps import ClientDep, SessionDep, SettingsDep
from gigforge.kit.errors import GigforgeError, TooManyRequests, Unauthorized
from gigforge.web.form_errors import FieldErrors, from_problem, from_validation
from gigforge.web.rendering import DashboardRoute, redirect, render
from gigforge.web.session import (
    LOGIN_NONCE_COOKIE,
    REFRESH_COOKIE,
    CsrfRejected,
    OptionalViewer,
    PostingViewer,
    clear_session_cookies,
    csrf_matches,
    login_csrf_token,
    safe_next,
    set_session_cookies,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

NONCE_MAX_AGE = 3600
REGISTER_MISSING = {
    "email": "Enter your email address.",
    "full_name": "Enter your name.",
    "password": "Choose a password.",
}
RESET_MISSING = {"new_password": "Choose a new password."}


def _anonymous_page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    """A page for someone not signed in, with a form token bound to the nonce cookie."""
    nonce, token = login_csrf_token(request)
    settings = request.app.state.settings
    response = render(
        request,
        template,
        {
            "viewer": None,
            "notices": [],
            "csrf_token": token,
            "allow_registration": settings.allow_registration,
            "min_password_length": MIN_LENGTH,
            **context,
        },
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        max_age=NONCE_MAX_AGE,
        path="/",
        secure=settings.public_url.lower().startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


def _check_anonymous_csrf(request: Request, submitted: str) -> None:
    _, expected = login_csrf_token(request)
    if not request.cookies.get(LOGIN_NONCE_COOKIE) or not csrf_matches(submitted, expected):
        raise CsrfRejected()


async def _discard_unless_kept(session: AsyncSession, exc: GigforgeError) -> None:
    """The page answers instead of raising, so undo what the unit of work would have undone."""
    if not exc.keeps_changes:
        await session.rollback()


def _login_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return _anonymous_page(
        request,
        "login.html",
        {"next": next_path, "email": email, "error": error},
        status_code=status_code,
    )


@router.get("/login")
async def login_form(request: Request, viewer: OptionalViewer, next: str | None = None) -> Response:
    if viewer is not None:
        return redirect(request, safe_next(next))
    return _login_page(request, next_path=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _check_anonymous_csrf(request, csrf_token)
    next_path = safe_next(next)
    try:
        tokens = await auth_service.login(
            session,
            client,
            settings=settings,
            email=email.strip(),
            password=password,
            user_agent=request.headers.get("user-agent"),
        )
    except LoginThrottled as exc:
        return _login_page(
            request,
            next_path=next_path,
            email=email,
            error=exc.detail,
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    except Unauthorized:
        return _login_page(
            request,
            next_path=next_path,
            email=email,
            error="The email or password is incorrect.",
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    response = redirect(request, next_path)
    set_session_cookies(response, settings, tokens)
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    viewer: PostingViewer,
) -> Response:
    """Revoke the whole token family, not just the cookies in this browser."""
    with contextlib.suppress(InvalidToken):  # ended elsewhere already; the cookies still go
        await auth_service.logout(
            session,
            viewer.principal,
            client=client,
            refresh_token=request.cookies.get(REFRESH_COOKIE),
        )
    request.state.web_refreshed = None
    response = redirect(request, "/login")
    clear_session_cookies(response, settings)
    return response


def _register_page(
    request: Request,
    *,
    email: str = "",
    full_name: str = "",
    errors: FieldErrors | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return _anonymous_page(
        request,
        "register.html",
        {"email": email, "full_name": full_name, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/register")
async def register_form(request: Request, viewer: OptionalViewer) -> Response:
    if viewer is not None:
        return redirect(request, safe_next(None))
    return _register_page(request)


@router.post("/register")
async def register(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    email: Annotated[str, Form()] = "",
    full_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Create the account and sign this browser in, as `POST /auth/register` does for API
    clients. What was typed comes back on errors, except the password."""
    _check_anonymous_csrf(request, csrf_token)
    email, full_name = email.strip(), full_name.strip()
    if not settings.allow_registration:
        return _register_page(request, status_code=status.HTTP_403_FORBIDDEN)
    try:
        data = RegisterRequest(email=email, full_name=full_name, password=password)
    except ValidationError as exc:
        return _register_page(
            request,
            email=email,
            full_name=full_name,
            errors=from_validation(exc, missing=REGISTER_MISSING),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        tokens = await auth_service.register(
            session,
            client,
            settings=settings,
            email=str(data.email),
            password=data.password,
            full_name=data.full_name,
            user_agent=request.headers.get("user-agent"),
        )
    except GigforgeError as exc:
        await _discard_unless_kept(session, exc)
        if isinstance(exc, EmailTaken):
            errors = {"email": "An account already uses this email. Sign in or reset its password."}
        elif isinstance(exc, WeakPassword):
            errors = from_problem(exc)
        else:
            errors = {"": exc.detail}
        response = _register_page(
            request,
            email=email,
            full_name=full_name,
            errors=errors,
            status_code=exc.status_code,
        )
        if isinstance(exc, TooManyRequests):
            response.headers.update(exc.headers())
        return response
    response = redirect(request, safe_next(None))
    set_session_cookies(response, settings, tokens)
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/")
    return response


@router.get("/forgot-password")
async def forgot_password_form(request: Request) -> Response:
    return _anonymous_page(request, "forgot_password.html", {"email": "", "errors": {}})


@router.post("/forgot-password")
async def forgot_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    background: BackgroundTasks,
    email: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """The same answer whether or not an account uses the address, as the API gives."""
    _check_anonymous_csrf(request, csrf_token)
    email = email.strip()
    try:
        data = PasswordResetRequest(email=email)
    except ValidationError as exc:
        return _anonymous_page(
            request,
            "forgot_password.html",
            {
                "email": email,
                "errors": from_validation(exc, missing={"email": "Enter your email address."}),
            },
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    message = await auth_service.request_password_reset(
        session, client, settings=settings, email=str(data.email)
    )
    if message is not None:
        background.add_task(send_reset_email, request.app.state.email_sender, message)
    minutes = int(settings.password_reset_ttl.total_seconds() // 60)
    return _anonymous_page(
        request,
        "forgot_password.html",
        {"email": email, "errors": {}, "sent": True, "minutes": minutes},
    )


def _reset_page(
    request: Request,
    *,
    code: str,
    state: str = "form",
    errors: FieldErrors | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    return _anonymous_page(
        request,
        "reset_password.html",
        {"code": code, "state": state, "errors": errors or {}},
        status_code=status_code,
    )


def _invalid_reset(request: Request) -> Response:
    return _reset_page(request, code="", state="invalid", status_code=status.HTTP_400_BAD_REQUEST)


@router.get("/reset-password")
async def reset_password_form(
    request: Request, session: SessionDep, code: str | None = None
) -> Response:
    """The page the emailed link opens; a spent or expired link says so before any typing."""
    code = (code or "").strip()
    if code and not await auth_service.password_reset_is_usable(session, token=code):
        return _invalid_reset(request)
    return _reset_page(request, code=code)


@router.post("/reset-password")
async def reset_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
    code: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    _check_anonymous_csrf(request, csrf_token)
    code = code.strip()
    if new_password and new_password != confirm_password:
        return _reset_page(
            request,
            code=code,
            errors={"confirm_password": "The two passwords differ; type the same one twice."},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    try:
        data = PasswordResetConfirm(token=code, new_password=new_password)
    except ValidationError as exc:
        errors = from_validation(exc, missing=RESET_MISSING)
        if "token" in errors:
            return _invalid_reset(request)
        return _reset_page(
            request, code=code, errors=errors, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    try:
        await auth_service.confirm_password_reset(
            session, client, settings=settings, token=data.token, new_password=data.new_password
        )
    except InvalidToken as exc:
        await _discard_unless_kept(session, exc)
        return _invalid_reset(request)
    except WeakPassword as exc:
        await _discard_unless_kept(session, exc)
        return _reset_page(
            request,
            code=code,
            errors=from_problem(exc, rename={"password": "new_password"}),
            status_code=exc.status_code,
        )
    response = _reset_page(request, code="", state="done")
    clear_session_cookies(response, settings)  # every session of the account has ended
    return response
