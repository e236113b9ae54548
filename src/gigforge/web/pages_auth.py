"""Signing in and out of the dashboard through the accounts service."""

from __future__ import annotations

import contextlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from starlette.responses import Response

from gigforge.accounts.errors import InvalidToken, LoginThrottled
from gigforge.accounts.service import auth as auth_service
from gigforge.kit.deps import ClientDep, SessionDep, SettingsDep
from gigforge.kit.errors import Unauthorized
from gigforge.web.rendering import DashboardRoute, redirect, render
from gigforge.web.session import (
    LOGIN_NONCE_COOKIE,
    REFRESH_COOKIE,
    CsrfRejected,
    OptionalViewer,
    PostingViewer,
    clear_session_cookies,
    login_csrf_token,
    safe_next,
    set_session_cookies,
)

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)


def _login_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    nonce, token = login_csrf_token(request)
    response = render(
        request,
        "login.html",
        {
            "viewer": None,
            "notices": [],
            "csrf_token": token,
            "next": next_path,
            "email": email,
            "error": error,
        },
        status_code=status_code,
    )
    settings = request.app.state.settings
    response.set_cookie(
        LOGIN_NONCE_COOKIE,
        nonce,
        max_age=3600,
        path="/login",
        secure=settings.public_url.lower().startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


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
    _, expected = login_csrf_token(request)
    if not request.cookies.get(LOGIN_NONCE_COOKIE) or not hmac.compare_digest(csrf_token, expected):
        raise CsrfRejected()
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
    response.delete_cookie(LOGIN_NONCE_COOKIE, path="/login")
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
