"""Dashboard sessions: the API's own tokens carried in HttpOnly cookies, plus CSRF tokens.

The dashboard does not invent a second session system. Signing in starts an ordinary token
family (`auth.login`); the access JWT and the refresh token live in cookies the page script
cannot read, and an expired access token is rotated through `auth.refresh`, so revocation,
reuse detection and auditing work exactly as they do for API clients.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gigforge.accounts.errors import InvalidToken, RefreshTokenReused
from gigforge.accounts.principal import Principal
from gigforge.accounts.schemas import TokenPair
from gigforge.accounts.service import auth as auth_service
from gigforge.accounts.sessions_service import sessions as sessions_service
from gigforge.accounts.tokens import decode_access_token
from gigforge.kit.actor import Actor
from gigforge.kit.deps import SessionDep, SettingsDep, client_ip
from gigforge.kit.ratelimit import charge_principal
from gigforge.settings import Settings

ACCESS_COOKIE = "gigforge_session"
REFRESH_COOKIE = "gigforge_refresh"
LOGIN_NONCE_COOKIE = "gigforge_login_nonce"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """Raised by page dependencies; the dashboard route class turns it into a redirect."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)


class CsrfRejected(Exception):
    """A POST without the session's CSRF token; answered with a 403 page."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person looking at a page, and the CSRF token bound to their session."""

    principal: Principal
    csrf_token: str


def csrf_token_for(settings: Settings, session_key: str) -> str:
    """HMAC of the session id: nothing to store, and useless for any other session."""
    return hmac.new(
        settings.signing_key.encode(), f"csrf:{session_key}".encode(), hashlib.sha256
    ).hexdigest()


def login_csrf_token(request: Request) -> tuple[str, str]:
    """The sign-in form has no session yet: bind its token to a random nonce cookie instead,
    so a third-party site cannot sign the browser into an account of the attacker's."""
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE) or secrets.token_urlsafe(24)
    settings: Settings = request.app.state.settings
    return nonce, csrf_token_for(settings, f"login:{nonce}")


async def submitted_csrf(request: Request) -> str:
    """The token from the htmx header or, for plain form posts, the hidden field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def csrf_matches(submitted: str, expected: str) -> bool:
    """Constant-time, on bytes: `hmac.compare_digest` raises TypeError for a str with
    non-ASCII characters, and a forged token may hold any character."""
    return hmac.compare_digest(submitted.encode("utf-8", "replace"), expected.encode())


async def check_csrf(request: Request, expected: str) -> None:
    if not csrf_matches(await submitted_csrf(request), expected):
        raise CsrfRejected()


def safe_next(value: str | None, default: str = "/opportunities") -> str:
    """Only same-site relative paths: an absolute or scheme-relative `next` is an open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _secure(settings: Settings) -> bool:
    return settings.public_url.lower().startswith("https://")


def set_session_cookies(response: Response, settings: Settings, tokens: TokenPair) -> None:
    secure = _secure(settings)
    response.set_cookie(
        ACCESS_COOKIE,
        tokens.access_token,
        max_age=tokens.expires_in,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=int(settings.refresh_token_ttl.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    for name in (ACCESS_COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name, path="/", secure=_secure(settings), httponly=True)


def apply_pending_cookies(request: Request, response: Response) -> None:
    """Write the cookies a transparent refresh (or a dead session) decided on."""
    settings: Settings = request.app.state.settings
    refreshed: TokenPair | None = getattr(request.state, "web_refreshed", None)
    if refreshed is not None:
        set_session_cookies(response, settings, refreshed)
    elif getattr(request.state, "web_signed_out", False):
        clear_session_cookies(response, settings)


async def _principal_from_access(
    session: AsyncSession, settings: Settings, token: str, ip: str | None
) -> Principal | None:
    claims = decode_access_token(settings, token)
    user = await sessions_service.active_user(
        session, session_id=claims.session_id, user_id=claims.user_id
    )
    if user is None:
        return None
    return Principal(user=user, scopes=claims.scopes, session_id=claims.session_id, ip=ip)


async def optional_viewer(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Viewer | None:
    """The viewer from the cookies, rotating the refresh token when the access token is gone
    or expired. A refused refresh signs the browser out instead of failing the page."""
    ip = client_ip(request)
    access = request.cookies.get(ACCESS_COOKIE)
    refresh = request.cookies.get(REFRESH_COOKIE)
    principal: Principal | None = None
    if access:
        try:
            principal = await _principal_from_access(session, settings, access, ip)
        except InvalidToken:
            principal = None
    if principal is None and refresh:
        try:
            tokens = await auth_service.refresh(
                session, Actor(ip=ip), settings=settings, refresh_token=refresh
            )
            principal = await _principal_from_access(session, settings, tokens.access_token, ip)
            request.state.web_refreshed = tokens
        except (InvalidToken, RefreshTokenReused):
            principal = None
    if principal is None:
        if access or refresh:
            request.state.web_signed_out = True
        return None
    assert principal.session_id is not None  # access tokens always carry one
    return Viewer(principal, csrf_token_for(settings, str(principal.session_id)))


def _current_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def required_viewer(
    request: Request, viewer: Annotated[Viewer | None, Depends(optional_viewer)]
) -> Viewer:
    if viewer is None:
        raise LoginRequired(_current_path(request) if request.method == "GET" else "/")
    return viewer


async def posting_viewer(
    request: Request, viewer: Annotated[Viewer, Depends(required_viewer)]
) -> Viewer:
    """A signed-in viewer whose POST carries the session's CSRF token, within their rate
    limit (`kit.ratelimit`)."""
    await check_csrf(request, viewer.csrf_token)
    await charge_principal(request, viewer.principal.rate_limit_key)
    return viewer


OptionalViewer = Annotated[Viewer | None, Depends(optional_viewer)]
CurrentViewer = Annotated[Viewer, Depends(required_viewer)]
PostingViewer = Annotated[Viewer, Depends(posting_viewer)]
