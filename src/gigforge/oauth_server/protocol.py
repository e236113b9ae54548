"""authlib's authorization server, wired to Gigforge's tables.

authlib speaks the protocol (RFC 6749 authorization code and refresh, RFC 7636 PKCE, RFC 7009
revocation, RFC 7662 introspection); this module only answers its questions: which client is
this, store this code, find this token. Its hooks are synchronous, so a `ProtocolServer` is
built per call inside `AsyncSession.run_sync` around the request's own sync session.

Rules on top of authlib's defaults (RFC 9700):
- only `response_type=code`; no implicit, password or client-credentials grants;
- PKCE with S256 for every client, `plain` refused; a code works once, and a replayed code
  revokes what it started;
- redirect URIs match exactly, and a request with an unknown client or an unregistered
  redirect URI is never redirected;
- refresh tokens rotate, and a rotated one presented again revokes the whole grant.
"""

from __future__ import annotations

import hmac
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749 import AuthorizationServer as _AuthorizationServer
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6749.util import scope_to_list
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from gigforge.accounts.tokens import hash_opaque_token
from gigforge.kit.clock import utcnow
from gigforge.oauth_server.models import ClientType, OAuthApp, OAuthCode, OAuthGrant, OAuthToken
from gigforge.oauth_server.repository import ProtocolStore, TokenRow

ACCESS_TOKEN_PREFIX = "gfo_"  # noqa: S105 - a public prefix
REFRESH_TOKEN_PREFIX = "gfor_"  # noqa: S105 - a public prefix
CODE_LIFETIME = timedelta(minutes=10)
TOKEN_TYPE = "Bearer"  # noqa: S105 - the RFC 6750 token type, not a secret
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")
TOKEN_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]


@dataclass(frozen=True)
class HttpRequest:
    """What the protocol needs from an HTTP request, whatever framework carried it.

    `uri` is the public URL (the issuer's origin and the path), which authlib checks is https
    or a loopback address."""

    method: str
    uri: str
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)
    authorization: str | None = None


@dataclass(frozen=True)
class Lifetimes:
    access: timedelta
    refresh: timedelta


@dataclass
class Outcome:
    """What a protocol call changed, for the audit and events written after it."""

    authorized: list[tuple[OAuthGrant, OAuthApp]] = field(default_factory=list)
    revoked: list[tuple[OAuthGrant, OAuthApp, str]] = field(default_factory=list)


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            datalist[name].append(value)
        self._datalist = datalist
        self._data = {name: values[0] for name, values in datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, http: HttpRequest) -> None:
        headers = {"Authorization": http.authorization} if http.authorization else {}
        super().__init__(http.method, http.uri, headers=headers)
        self.payload = _Payload(http.query + http.form)
        self._args = dict(http.query)
        self._form = dict(http.form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class Client(ClientMixin):  # type: ignore[misc]
    """A registered app as authlib sees it."""

    def __init__(self, app: OAuthApp) -> None:
        self.app = app

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> None:
        """None: every request names its redirect URI, matched exactly (OAuth 2.1)."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope asked for, if the app may ask for all of it; None refuses the request
        (invalid_scope) instead of quietly granting less."""
        requested = scope_to_list(scope) or []
        if not requested or not set(requested) <= set(self.app.scopes):
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.app.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.app.client_secret_hash
        if stored is None:
            return False
        return hmac.compare_digest(hash_opaque_token(client_secret).encode(), stored.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.app.client_type == ClientType.public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in {"authorization_code", "refresh_token"}


class _Code(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, code: OAuthCode, grant: OAuthGrant) -> None:
        self.row = code
        self.grant = grant
        self.code_challenge = code.code_challenge
        self.code_challenge_method = code.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return " ".join(self.grant.scopes)


class Token(TokenMixin):  # type: ignore[misc]
    """An issued token row, looked up by its access or its refresh token."""

    def __init__(self, row: TokenRow, *, kind: str) -> None:
        self.row, self.grant, self.app = row
        self.kind = kind

    def check_client(self, client: Client) -> bool:
        return self.app.id == client.app.id

    def get_scope(self) -> str:
        return " ".join(self.row.scopes)

    def get_expires_in(self) -> int:
        return int((self.row.access_expires_at - self.row.issued_at).total_seconds())

    def expires_at(self) -> datetime | None:
        if self.kind == "refresh_token":
            return self.row.refresh_expires_at
        return self.row.access_expires_at

    def is_expired(self) -> bool:
        expires = self.expires_at()
        return expires is not None and expires <= utcnow()

    def is_revoked(self) -> bool:
        rotated = self.kind == "refresh_token" and self.row.refresh_used_at is not None
        return rotated or self.row.revoked_at is not None or self.grant.revoked_at is not None

    def get_user(self) -> OAuthGrant:
        return self.grant

    def get_client(self) -> Client:
        return Client(self.app)


class _S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, S256 only: a request without a challenge, or with `plain`, is
    refused (sent back to the app's redirect URI as invalid_request)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - authlib's class attribute
    CODE_CHALLENGE_METHODS = {"S256": compare_s256_code_challenge}  # noqa: RUF012

    def validate_code_challenge(self, grant: Any, redirect_uri: str | None) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256; plain is refused")
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    server: ProtocolServer

    def save_authorization_code(self, code: str, request: _Request) -> None:
        store = self.server.store
        client: Client = request.client
        grant = OAuthGrant(
            app_id=client.app.id,
            user_id=request.user,
            scopes=scope_to_list(request.scope),
            created_at=utcnow(),
        )
        store.add(grant)
        data = request.payload.data
        now = utcnow()
        store.add(
            OAuthCode(
                code_hash=hash_opaque_token(code),
                grant_id=grant.id,
                redirect_uri=request.payload.redirect_uri,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        self.server.outcome.authorized.append((grant, client.app))

    def query_authorization_code(self, code: str, client: Client) -> _Code | None:
        found = self.server.store.code(hash_opaque_token(code))
        if found is None:
            return None
        row, grant, app = found
        if app.id != client.app.id:
            return None
        if row.used_at is not None:
            # RFC 6749 4.1.2: a code used twice revokes what it issued.
            self.server.revoke(grant, app, reason="code_reused")
            return None
        if row.expires_at <= utcnow() or grant.revoked_at is not None:
            return None
        return _Code(row, grant)

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        """Marked used, not deleted: kept until it expires so that a replay is recognised."""
        authorization_code.row.used_at = utcnow()
        self.server.store.flush()

    def authenticate_user(self, authorization_code: _Code) -> OAuthGrant:
        return authorization_code.grant


class _RefreshGrant(RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True
    server: ProtocolServer

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        found = self.server.store.token_by_refresh(hash_opaque_token(refresh_token))
        if found is None:
            return None
        token = Token(found, kind="refresh_token")
        if token.row.refresh_used_at is not None and token.grant.revoked_at is None:
            # RFC 9700 4.14.2: a rotated refresh token came back, so one of its holders is
            # not the app; end the grant and everything issued from it.
            self.server.revoke(token.grant, token.app, reason="refresh_token_reused")
            return None
        if token.is_revoked() or token.is_expired():
            return None
        return token

    def authenticate_user(self, refresh_token: Token) -> OAuthGrant | None:
        return None if refresh_token.grant.revoked_at is not None else refresh_token.grant

    def revoke_old_credential(self, refresh_token: Token) -> None:
        if not self.server.store.retire_refresh_token(refresh_token.row.id, utcnow()):
            self.server.revoke(
                refresh_token.grant, refresh_token.app, reason="refresh_token_reused"
            )
            raise InvalidGrantError()


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. Revoking an access token ends that token; revoking a refresh token ends the
    grant it belongs to, with every token issued from it."""

    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS
    server: ProtocolServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.find_token(token_string, token_type_hint)

    def revoke_token(self, token: Token, request: _Request) -> None:
        if token.kind == "refresh_token":
            self.server.revoke(token.grant, token.app, reason="app")
        elif token.row.revoked_at is None:
            token.row.revoked_at = utcnow()
            self.server.store.flush()


class _Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for confidential apps about their own tokens."""

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)  # noqa: RUF012 - authlib's attribute
    server: ProtocolServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.server.find_token(token_string, token_type_hint)

    def check_permission(self, token: Token, client: Client, request: _Request) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        expires = token.expires_at()
        return {
            "active": True,
            "client_id": token.app.client_id,
            "scope": token.get_scope(),
            "sub": str(token.grant.user_id),
            "token_type": TOKEN_TYPE if token.kind == "access_token" else "refresh_token",
            "exp": int(expires.timestamp()) if expires is not None else None,
            "iat": int(token.row.issued_at.timestamp()),
            "iss": self.server.issuer,
        }


class ProtocolServer(_AuthorizationServer):  # type: ignore[misc]
    """One per protocol call, around the request's sync session."""

    def __init__(
        self, store: ProtocolStore, *, issuer: str, lifetimes: Lifetimes, scopes: list[str]
    ) -> None:
        super().__init__(scopes_supported=scopes)
        self.store = store
        self.issuer = issuer
        self.lifetimes = lifetimes
        self.outcome = Outcome()
        self.register_token_generator("default", self._generate_token)
        self.register_grant(_CodeGrant, [_S256Only(required=True)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_Introspection)

    def query_client(self, client_id: str) -> Client | None:
        app = self.store.app_by_client_id(client_id)
        return None if app is None else Client(app)

    def create_oauth2_request(self, request: HttpRequest | OAuth2Request) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return _Request(request)

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> tuple[int, Any, list[tuple[str, str]]]:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signals are for framework integrations; the outcome records what matters."""

    def _generate_token(
        self,
        grant_type: str,
        client: Client,
        user: OAuthGrant | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "token_type": TOKEN_TYPE,
            "access_token": ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32),
            "expires_in": int(self.lifetimes.access.total_seconds()),
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
        return token

    def save_token(self, token: dict[str, Any], request: _Request) -> None:
        grant: OAuthGrant = request.user
        now = utcnow()
        refresh = token.get("refresh_token")
        self.store.add(
            OAuthToken(
                grant_id=grant.id,
                access_token_hash=hash_opaque_token(token["access_token"]),
                refresh_token_hash=hash_opaque_token(refresh) if refresh else None,
                scopes=scope_to_list(token["scope"]) or [],
                issued_at=now,
                access_expires_at=now + self.lifetimes.access,
                refresh_expires_at=now + self.lifetimes.refresh if refresh else None,
            )
        )

    def find_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        digest = hash_opaque_token(token_string)
        lookups = [
            ("access_token", self.store.token_by_access),
            ("refresh_token", self.store.token_by_refresh),
        ]
        if token_type_hint == "refresh_token":  # noqa: S105 - a hint name
            lookups.reverse()
        for kind, lookup in lookups:
            found = lookup(digest)
            if found is not None:
                return Token(found, kind=kind)
        return None

    def revoke(self, grant: OAuthGrant, app: OAuthApp, *, reason: str) -> None:
        if grant.revoked_at is not None:
            return
        self.store.revoke_grant(grant, reason=reason, now=utcnow())
        self.outcome.revoked.append((grant, app, reason))
