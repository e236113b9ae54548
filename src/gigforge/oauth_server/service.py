"""Third-party apps: registering them, the consent step, the protocol endpoints, and what the
user authorized. The protocol itself is authlib's (see `protocol.py`); this module decides who
may do what, and audits and publishes what happened."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gigforge.accounts.principal import Principal
from gigforge.accounts.tokens import hash_opaque_token
from gigforge.audit.service import audit as audit_service
from gigforge.kit.actor import Actor
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import BadRequest
from gigforge.kit.outbox import publish
from gigforge.kit.pagination import PageParams
from gigforge.oauth_server.errors import AppNotFound, AuthorizationNotFound, InvalidAppSettings
from gigforge.oauth_server.events import OAuthAppAuthorized, OAuthGrantRevoked
from gigforge.oauth_server.models import ClientType, OAuthApp, OAuthGrant
from gigforge.oauth_server.protocol import ACCESS_TOKEN_PREFIX as ACCESS_TOKEN_PREFIX
from gigforge.oauth_server.protocol import (
    HttpRequest,
    Lifetimes,
    Outcome,
    ProtocolServer,
)
from gigforge.oauth_server.repository import (
    OAuthAppRepository,
    OAuthGrantRepository,
    OAuthTokenRepository,
    ProtocolStore,
    purge_expired,
)
from gigforge.oauth_server.schemas import (
    GRANTABLE_SCOPES,
    AppCreate,
    AppCreated,
    AppRead,
    AppUpdate,
    AuthorizationRead,
)
from gigforge.settings import Settings

T = TypeVar("T")

CLIENT_ID_PREFIX = "gfc_"
CLIENT_SECRET_PREFIX = "gfs_"  # noqa: S105 - a public prefix
SECRET_DISPLAY_LENGTH = 10
LAST_USED_RESOLUTION = timedelta(minutes=5)
GRANTABLE = frozenset(scope.value for scope in GRANTABLE_SCOPES)
PROTOCOL_PATHS = {
    "authorization_endpoint": "/oauth/authorize",
    "token_endpoint": "/oauth/token",
    "revocation_endpoint": "/oauth/revoke",
    "introspection_endpoint": "/oauth/introspect",
}

ProtocolResponse = tuple[int, Any, list[tuple[str, str]]]


class AuthorizationRequestInvalid(BadRequest):
    """An authorization request that cannot be sent back to the app: its client is unknown,
    or its redirect URI is not one the app registered. Shown to the user, never redirected."""

    code = "oauth-authorization-request-invalid"
    title = "This sign-in link is not valid"


@dataclass(frozen=True)
class Consent:
    """What the consent page shows: who asks, for what, and where the answer goes."""

    app_id: uuid.UUID
    app_name: str
    client_id: str
    scopes: list[str]
    redirect_uri: str


@dataclass(frozen=True)
class Redirect:
    """Send the browser back to the app: with a code, or with an RFC 6749 error."""

    location: str


@dataclass(frozen=True)
class AccessGrant:
    """A live OAuth access token: whose it is and what it may do."""

    user_id: uuid.UUID
    scopes: frozenset[str]
    grant_id: uuid.UUID
    app_id: uuid.UUID


def issuer_of(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _lifetimes(settings: Settings) -> Lifetimes:
    return Lifetimes(access=settings.access_token_ttl, refresh=settings.refresh_token_ttl)


def _invalid(field: str, message: str) -> InvalidAppSettings:
    return InvalidAppSettings(
        message, errors=[{"loc": ["body", field], "msg": message, "type": "value_error"}]
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_redirect_uris(uris: Sequence[str]) -> list[str]:
    """Absolute https URIs, or http on a loopback address for native apps (RFC 8252 7.3);
    no fragments. Matched exactly at authorization time."""
    checked: list[str] = []
    for uri in uris:
        try:
            parts = urlsplit(uri)
            host = parts.hostname or ""
        except ValueError:
            raise _invalid("redirect_uris", f"{uri!r} is not a URL") from None
        if parts.fragment or "#" in uri:
            raise _invalid("redirect_uris", f"{uri!r}: a redirect URI has no #fragment")
        secure = parts.scheme == "https" and bool(host)
        if not secure and not (parts.scheme == "http" and _is_loopback(host)):
            raise _invalid(
                "redirect_uris",
                f"{uri!r}: use https, or http on a loopback address (127.0.0.1, [::1], localhost)",
            )
        if uri not in checked:
            checked.append(uri)
    return checked


def _check_scopes(scopes: Sequence[str]) -> list[str]:
    refused = sorted(set(scopes) - GRANTABLE)
    if refused:
        raise _invalid("scopes", f"Apps cannot be given these scopes: {', '.join(refused)}")
    return sorted(set(scopes))


def _new_secret() -> str:
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


class OAuthAppService:
    """Apps a developer registers. The secret is shown once and stored as a hash."""

    async def create(
        self, session: AsyncSession, principal: Principal, *, data: AppCreate
    ) -> AppCreated:
        redirect_uris = check_redirect_uris(data.redirect_uris)
        scopes = _check_scopes([scope.value for scope in data.scopes])
        secret = _new_secret() if data.client_type == ClientType.confidential else None
        app = await OAuthAppRepository(session).create(
            OAuthApp(
                user_id=principal.user_id,
                client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(16),
                name=data.name,
                client_type=data.client_type,
                client_secret_hash=hash_opaque_token(secret) if secret else None,
                secret_prefix=secret[:SECRET_DISPLAY_LENGTH] if secret else None,
                redirect_uris=redirect_uris,
                scopes=scopes,
            )
        )
        await audit_service.record(
            session,
            principal.actor,
            action="oauth.app_created",
            target_type="oauth_app",
            target_id=app.id,
            data={
                "name": app.name,
                "client_id": app.client_id,
                "client_type": app.client_type.value,
                "redirect_uris": app.redirect_uris,
                "scopes": app.scopes,
            },
        )
        return AppCreated(**AppRead.model_validate(app).model_dump(), client_secret=secret)

    async def list(
        self, session: AsyncSession, principal: Principal, *, page: PageParams
    ) -> tuple[Sequence[OAuthApp], int]:
        apps = OAuthAppRepository(session)
        return await apps.paginate(apps.listed(principal.user_id), page)

    async def get(
        self, session: AsyncSession, principal: Principal, *, app_id: uuid.UUID
    ) -> OAuthApp:
        app = await OAuthAppRepository(session).get_owned(principal.user_id, app_id)
        if app is None:
            raise AppNotFound()
        return app

    async def update(
        self, session: AsyncSession, principal: Principal, *, app_id: uuid.UUID, data: AppUpdate
    ) -> OAuthApp:
        app = await self.get(session, principal, app_id=app_id)
        # Everything is checked before anything changes: a refused update leaves no trace.
        redirect_uris = (
            None if data.redirect_uris is None else check_redirect_uris(data.redirect_uris)
        )
        scopes = None if data.scopes is None else _check_scopes([s.value for s in data.scopes])
        if data.name is not None:
            app.name = data.name
        if redirect_uris is not None:
            app.redirect_uris = redirect_uris
        if scopes is not None:
            app.scopes = scopes
        app.updated_at = utcnow()
        await session.flush()
        await audit_service.record(
            session,
            principal.actor,
            action="oauth.app_updated",
            target_type="oauth_app",
            target_id=app.id,
            data={"name": app.name, "redirect_uris": app.redirect_uris, "scopes": app.scopes},
        )
        return app

    async def rotate_secret(
        self, session: AsyncSession, principal: Principal, *, app_id: uuid.UUID
    ) -> AppCreated:
        """A new secret replaces the old one at once; tokens already issued keep working."""
        app = await self.get(session, principal, app_id=app_id)
        if app.client_type != ClientType.confidential:
            raise _invalid("client_type", "A public app has no secret to rotate")
        secret = _new_secret()
        app.client_secret_hash = hash_opaque_token(secret)
        app.secret_prefix = secret[:SECRET_DISPLAY_LENGTH]
        app.updated_at = utcnow()
        await session.flush()
        await audit_service.record(
            session,
            principal.actor,
            action="oauth.app_secret_rotated",
            target_type="oauth_app",
            target_id=app.id,
            data={"client_id": app.client_id},
        )
        return AppCreated(**AppRead.model_validate(app).model_dump(), client_secret=secret)

    async def delete(
        self, session: AsyncSession, principal: Principal, *, app_id: uuid.UUID
    ) -> None:
        """Deleting an app ends every grant and token it holds (the rows cascade)."""
        app = await self.get(session, principal, app_id=app_id)
        await audit_service.record(
            session,
            principal.actor,
            action="oauth.app_deleted",
            target_type="oauth_app",
            target_id=app.id,
            data={"name": app.name, "client_id": app.client_id},
        )
        await OAuthAppRepository(session).delete(app)


class OAuthServerService:
    """The authorization server: consent, the protocol endpoints, and users' grants."""

    async def _protocol(
        self,
        session: AsyncSession,
        settings: Settings,
        call: Callable[[ProtocolServer], T],
    ) -> tuple[T, Outcome]:
        def run(sync_session: Session) -> tuple[T, Outcome]:
            server = ProtocolServer(
                ProtocolStore(sync_session),
                issuer=issuer_of(settings),
                lifetimes=_lifetimes(settings),
                scopes=sorted(GRANTABLE),
            )
            return call(server), server.outcome

        return await session.run_sync(run)

    async def _record(self, session: AsyncSession, actor: Actor, outcome: Outcome) -> None:
        for grant, app in outcome.authorized:
            await audit_service.record(
                session,
                actor,
                action="oauth.app_authorized",
                user_id=grant.user_id,
                target_type="oauth_app",
                target_id=app.id,
                data={
                    "client_id": app.client_id,
                    "grant_id": str(grant.id),
                    "scopes": grant.scopes,
                },
            )
            await publish(
                session,
                OAuthAppAuthorized(
                    app_id=app.id, grant_id=grant.id, client_id=app.client_id, scopes=grant.scopes
                ),
                user_id=grant.user_id,
            )
        for grant, app, reason in outcome.revoked:
            await audit_service.record(
                session,
                actor,
                action="oauth.grant_revoked",
                user_id=grant.user_id,
                target_type="oauth_app",
                target_id=app.id,
                data={"client_id": app.client_id, "grant_id": str(grant.id), "reason": reason},
            )
            await publish(
                session,
                OAuthGrantRevoked(
                    app_id=app.id, grant_id=grant.id, client_id=app.client_id, reason=reason
                ),
                user_id=grant.user_id,
            )

    @staticmethod
    def _refused(error: OAuth2Error) -> Redirect:
        """An error authlib may send back to the app: only when it matched the redirect URI."""
        status, _, headers = error()
        location = dict(headers).get("Location")
        if status != 302 or not location:
            raise AuthorizationRequestInvalid(error.description or error.error)
        return Redirect(location)

    async def consent(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        settings: Settings,
        request: HttpRequest,
    ) -> Consent | Redirect:
        """Check an authorization request before asking the user. A request that names an
        unknown app or an unregistered redirect URI raises; other faults go back to the app."""

        def check(server: ProtocolServer) -> Consent | Redirect:
            try:
                grant = server.get_consent_grant(request=request, end_user=principal.user_id)
            except OAuth2Error as error:
                return self._refused(error)
            except ValueError as error:
                raise AuthorizationRequestInvalid(
                    "The authorization request is malformed"
                ) from error
            app: OAuthApp = grant.client.app
            return Consent(
                app_id=app.id,
                app_name=app.name,
                client_id=app.client_id,
                scopes=grant.request.scope.split(),
                redirect_uri=grant.redirect_uri,
            )

        result, _ = await self._protocol(session, settings, check)
        return result

    async def decide(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        settings: Settings,
        request: HttpRequest,
        allow: bool,
    ) -> Redirect:
        """The user's answer: a code (allow) or access_denied (deny), sent to the app."""

        def answer(server: ProtocolServer) -> Redirect:
            try:
                grant = server.get_consent_grant(request=request, end_user=principal.user_id)
            except OAuth2Error as error:
                return self._refused(error)
            except ValueError as error:
                raise AuthorizationRequestInvalid(
                    "The authorization request is malformed"
                ) from error
            _, _, headers = server.create_authorization_response(
                request=grant.request,
                grant_user=principal.user_id if allow else None,
                grant=grant,
            )
            location = dict(headers).get("Location")
            if location is None:
                raise AuthorizationRequestInvalid("The authorization could not be completed")
            return Redirect(location)

        result, outcome = await self._protocol(session, settings, answer)
        await self._record(session, principal.actor, outcome)
        return result

    async def _endpoint(
        self,
        session: AsyncSession,
        actor: Actor,
        settings: Settings,
        call: Callable[[ProtocolServer], ProtocolResponse],
    ) -> ProtocolResponse:
        response, outcome = await self._protocol(session, settings, call)
        await self._record(session, actor, outcome)
        return response

    async def token(
        self, session: AsyncSession, actor: Actor, *, settings: Settings, request: HttpRequest
    ) -> ProtocolResponse:
        return await self._endpoint(
            session, actor, settings, lambda server: server.create_token_response(request)
        )

    async def revoke_token(
        self, session: AsyncSession, actor: Actor, *, settings: Settings, request: HttpRequest
    ) -> ProtocolResponse:
        return await self._endpoint(
            session,
            actor,
            settings,
            lambda server: server.create_endpoint_response("revocation", request),
        )

    async def introspect(
        self, session: AsyncSession, actor: Actor, *, settings: Settings, request: HttpRequest
    ) -> ProtocolResponse:
        return await self._endpoint(
            session,
            actor,
            settings,
            lambda server: server.create_endpoint_response("introspection", request),
        )

    def metadata(self, settings: Settings) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        issuer = issuer_of(settings)
        return {
            "issuer": issuer,
            **{name: issuer + path for name, path in PROTOCOL_PATHS.items()},
            "scopes_supported": sorted(GRANTABLE),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
            "service_documentation": issuer + "/docs",
        }

    async def authenticate(self, session: AsyncSession, raw_token: str) -> AccessGrant | None:
        """The grant behind an access token, or None when it is unknown, expired or revoked.
        Looked up on every request, so a revocation holds from the next one."""
        if not raw_token.startswith(ACCESS_TOKEN_PREFIX):
            return None
        found = await OAuthTokenRepository(session).by_access_hash(hash_opaque_token(raw_token))
        if found is None:
            return None
        token, grant, app = found
        now = utcnow()
        if token.revoked_at is not None or grant.revoked_at is not None:
            return None
        if token.access_expires_at <= now:
            return None
        if grant.last_used_at is None or now - grant.last_used_at > LAST_USED_RESOLUTION:
            grant.last_used_at = now
        return AccessGrant(
            user_id=grant.user_id,
            scopes=frozenset(token.scopes) & GRANTABLE,
            grant_id=grant.id,
            app_id=app.id,
        )

    async def authorizations(
        self, session: AsyncSession, principal: Principal
    ) -> list[AuthorizationRead]:
        """The apps the user authorized and has not revoked, one entry per app."""
        by_app: dict[uuid.UUID, tuple[OAuthApp, list[OAuthGrant]]] = {}
        for grant, app in await OAuthGrantRepository(session).live_with_apps(principal.user_id):
            by_app.setdefault(app.id, (app, []))[1].append(grant)
        listed = []
        for app, grants in by_app.values():
            used = [grant.last_used_at for grant in grants if grant.last_used_at is not None]
            listed.append(
                AuthorizationRead(
                    app_id=app.id,
                    client_id=app.client_id,
                    app_name=app.name,
                    scopes=sorted({scope for grant in grants for scope in grant.scopes}),
                    authorized_at=min(grant.created_at for grant in grants),
                    last_used_at=max(used) if used else None,
                )
            )
        return listed

    async def revoke_authorization(
        self, session: AsyncSession, principal: Principal, *, app_id: uuid.UUID
    ) -> None:
        """End every grant the user gave this app, and every token issued from them."""
        grants = OAuthGrantRepository(session)
        live = await grants.live_for_app(principal.user_id, app_id)
        if not live:
            raise AuthorizationNotFound()
        app = await OAuthAppRepository(session).get(app_id)
        assert app is not None  # a live grant's app exists: grants cascade with it
        await grants.revoke(live, reason="user", now=utcnow())
        await self._record(
            session, principal.actor, Outcome(revoked=[(grant, app, "user") for grant in live])
        )

    async def purge_expired(self, session: AsyncSession) -> int:
        """Forget codes and tokens that can never be used again; how many rows went."""
        return await purge_expired(session, utcnow())


oauth_apps = OAuthAppService()
oauth_server = OAuthServerService()
