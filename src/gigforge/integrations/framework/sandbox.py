"""Building blocks for vendor sandboxes: fault knobs and an OAuth 2.0 authorization server.

A sandbox is a small ASGI app beside its connector that speaks the provider's protocol. Tests
drive it in-process (`httpx.ASGITransport`); `gigforge serve --sandbox` mounts it under
`/sandbox/<slug>`. Nothing here is ever used by a connector itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

ErrorRenderer = Callable[[int, str], Response]


def json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


@dataclass
class Faults:
    """Knobs a test turns: failures, slowness, rate limiting."""

    error_rate: float = 0.0
    error_status: int = 503
    latency: float = 0.0
    burst_429: int = 0
    retry_after: int = 1
    seed: int = 0
    served: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - fault injection, not crypto

    def draw(self) -> float:
        return self._random.random()


class FaultInjector:
    """ASGI middleware that applies `Faults` before the sandbox answers."""

    def __init__(self, app: ASGIApp, faults: Faults, render: ErrorRenderer = json_error) -> None:
        self.app = app
        self.faults = faults
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        faults = self.faults
        faults.served += 1
        if faults.latency:
            await asyncio.sleep(faults.latency)
        if faults.burst_429 > 0:
            faults.burst_429 -= 1
            response = self.render(429, "rate limit exceeded")
            response.headers["Retry-After"] = str(faults.retry_after)
            await response(scope, receive, send)
            return
        if faults.error_rate and faults.draw() < faults.error_rate:
            await self.render(faults.error_status, "sandbox fault")(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    expires: float


@dataclass
class TokenRecord:
    subject: str
    scope: str
    expires: float


class OAuthServer:
    """An RFC 6749 authorization server with PKCE (RFC 7636) and refresh-token rotation.

    The sandbox's user always consents. `expire_access_tokens()` makes every issued access
    token stale, to exercise refresh-on-401. Error bodies follow RFC 6749 section 5.2.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        subject: str = "sandbox-user",
        access_ttl: int = 3600,
        rotate_refresh_tokens: bool = True,
        require_pkce: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.subject = subject
        self.access_ttl = access_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.require_pkce = require_pkce
        self.clock = clock
        self.codes: dict[str, _Grant] = {}
        self.access_tokens: dict[str, TokenRecord] = {}
        self.refresh_tokens: dict[str, TokenRecord] = {}
        self.refresh_count = 0
        self.refusing_refresh = False

    def routes(self, *, authorize_path: str, token_path: str) -> list[Route]:
        return [
            Route(authorize_path, self.authorize, methods=["GET"]),
            Route(token_path, self.token, methods=["POST"]),
        ]

    def check(self, token: str) -> TokenRecord | None:
        record = self.access_tokens.get(token)
        if record is None or record.expires <= self.clock():
            return None
        return record

    def expire_access_tokens(self) -> None:
        for record in self.access_tokens.values():
            record.expires = 0

    def issue(self, scope: str = "") -> dict[str, object]:
        """Tokens as the token endpoint would issue them (for tests that skip the flow)."""
        access = "sbx_at_" + secrets.token_urlsafe(24)
        refresh = "sbx_rt_" + secrets.token_urlsafe(24)
        self.access_tokens[access] = TokenRecord(
            self.subject, scope, self.clock() + self.access_ttl
        )
        self.refresh_tokens[refresh] = TokenRecord(self.subject, scope, self.clock() + 30 * 86400)
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": scope,
        }

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        if params.get("client_id") != self.client_id:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        redirect_uri = params.get("redirect_uri")
        if not redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        error = None
        if params.get("response_type") != "code":
            error = "unsupported_response_type"
        elif self.require_pkce and (
            params.get("code_challenge_method") != "S256" or not params.get("code_challenge")
        ):
            error = "invalid_request"
        query: dict[str, str] = {"state": params.get("state", "")}
        if error:
            query["error"] = error
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                challenge=params.get("code_challenge", ""),
                scope=params.get("scope", ""),
                expires=self.clock() + 600,
            )
            query["code"] = code
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        client_id, client_secret = self._client_auth(request, form)
        if client_id != self.client_id or client_secret != self.client_secret:
            return _oauth_error("invalid_client", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(form)
        if grant_type == "refresh_token":
            return self._refresh(str(form.get("refresh_token", "")))
        if grant_type == "client_credentials":
            issued = self.issue(str(form.get("scope", "")))
            issued.pop("refresh_token")
            return JSONResponse(issued)
        return _oauth_error("unsupported_grant_type")

    def _exchange_code(self, form: FormData) -> Response:
        get = form.get
        grant = self.codes.pop(str(get("code", "")), None)
        if grant is None or grant.expires <= self.clock():
            return _oauth_error("invalid_grant")
        if get("redirect_uri") != grant.redirect_uri:
            return _oauth_error("invalid_grant")
        if grant.challenge:
            verifier = str(get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant.challenge:
                return _oauth_error("invalid_grant")
        return JSONResponse(self.issue(grant.scope))

    def _refresh(self, refresh_token: str) -> Response:
        record = self.refresh_tokens.get(refresh_token)
        if self.refusing_refresh or record is None or record.expires <= self.clock():
            return _oauth_error("invalid_grant")
        self.refresh_count += 1
        issued = self.issue(record.scope)
        if self.rotate_refresh_tokens:
            del self.refresh_tokens[refresh_token]
        else:
            self.refresh_tokens.pop(str(issued["refresh_token"]))
            issued["refresh_token"] = refresh_token
        return JSONResponse(issued)

    @staticmethod
    def _client_auth(request: Request, form: FormData) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
            return client_id, client_secret
        get = form.get
        return str(get("client_id", "")), str(get("client_secret", ""))


def _oauth_error(error: str, status: int = 400) -> Response:
    return JSONResponse({"error": error}, status_code=status)
