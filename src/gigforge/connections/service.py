"""Connecting, testing, listing and removing a user's accounts at integrations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.connections.changes import chain_version as chain_version
from gigforge.connections.changes import detached as detached
from gigforge.connections.context import IntegrationContext
from gigforge.connections.local_files import confine_local_paths

# Other domains name the rows this service returns through it, never through the models.
from gigforge.connections.models import Connection as Connection
from gigforge.connections.models import ConnectionStatus, OAuthState
from gigforge.connections.repository import ConnectionRepository, OAuthStateRepository
from gigforge.connections.schemas import ConnectionCreate, ConnectionUpdate
from gigforge.connections.tokens import (
    ConnectionTokens,
    TokenSet,
    read_secrets,
    request_tokens,
    with_tokens,
)
from gigforge.connections.vault import vault
from gigforge.integrations.framework import (
    AuthMode,
    Capability,
    Connector,
    Credentials,
    HeaderCredentials,
    IntegrationError,
    IntegrationSpec,
    NoCredentials,
    OAuth2Credentials,
    QueryCredentials,
    SecretSource,
)
from gigforge.integrations.framework.transport import DestinationNotAllowed
from gigforge.kit.clock import utcnow
from gigforge.kit.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from gigforge.kit.pagination import PageParams

OAUTH_STATE_TTL = timedelta(minutes=10)
OAUTH_MODES = {AuthMode.oauth2_authorization_code}


class ConnectionTestFailed(BadRequest):
    """Keeps changes: the failed check's time and reason, a consumed OAuth state."""

    status_code = 422
    code = "connection-test-failed"
    title = "The integration refused the connection"
    keeps_changes = True


class InvalidOAuthState(BadRequest):
    code = "invalid-oauth-state"
    title = "The authorization is unknown, used or expired; start again"


class OAuthFlowRefused(Forbidden):
    """The callback came from someone other than whoever started the flow; nothing is used up,
    so the real user can still finish it."""

    code = "oauth-flow-refused"
    title = "This authorization belongs to another account or browser"


class RedirectUriRefused(BadRequest):
    code = "redirect-uri-refused"
    title = "Only this server's own callback URL is accepted as redirect_uri"


@dataclass(frozen=True)
class OAuthStart:
    """Where to send the user, and the secret the starting browser (or process) keeps: it is
    sent back at the callback and must match the flow's stored hash."""

    authorize_url: str
    nonce: str


class ConnectionExists(Conflict):
    code = "connection-exists"
    title = "A connection with this name already exists for the integration"


def _secret_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, field in model.model_fields.items()
        if field.annotation is SecretStr or field.annotation == SecretStr | None
    }


def split_config(
    spec: IntegrationSpec, raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate a connect form and part it into what may be shown and what goes to the vault."""
    try:
        config = spec.config_model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            f"The {spec.title} settings are not valid",
            errors=[
                {
                    "loc": ["body", "config", *[str(part) for part in error["loc"]]],
                    "msg": error["msg"],
                    "type": error["type"],
                }
                for error in exc.errors()
            ],
        ) from None
    hidden = _secret_fields(spec.config_model)
    public = config.model_dump(mode="json", exclude=hidden)
    secret = {
        name: value.get_secret_value()
        for name in hidden
        if isinstance(value := getattr(config, name), SecretStr)
    }
    return public, secret


async def check_destinations(
    context: IntegrationContext, *, base_url: str | None, config: dict[str, Any]
) -> None:
    """Where a user points a connection (its base URL, a `base_url` in its config) passes the
    SSRF guard before anything is saved or called: http(s) only, no private or local address
    unless the admin allow-listed it. A 422 otherwise."""
    if base_url is not None:
        await context.runtime.check_destination(base_url)
    configured = config.get("base_url")
    if isinstance(configured, str) and configured:
        await context.runtime.check_destination(configured)


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _hash_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _hash_nonce(nonce: str) -> str:
    return hashlib.sha256(f"oauth-nonce:{nonce}".encode()).hexdigest()


def oauth_callback_url(public_url: str, slug: str) -> str:
    """The one redirect URI the server hands to providers for browser flows."""
    return f"{public_url.rstrip('/')}/api/v1/connections/{slug}/callback"


def local_callback_url(port: int) -> str:
    """The loopback listener of `gigforge connect`, reached only by a process on this host."""
    return f"http://127.0.0.1:{port}/callback"


@dataclass(frozen=True)
class ConnectionRef:
    """What another domain needs of a connection to work for it in the background (scan it,
    schedule it): who owns it, which integration, its name and status; never its secrets."""

    id: uuid.UUID
    user_id: uuid.UUID
    integration: str
    name: str
    status: ConnectionStatus

    @property
    def active(self) -> bool:
        return self.status is ConnectionStatus.active

    @classmethod
    def of(cls, connection: Connection) -> ConnectionRef:
        return cls(
            id=connection.id,
            user_id=connection.user_id,
            integration=connection.integration,
            name=connection.name,
            status=connection.status,
        )


class ConnectionService:
    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        data: ConnectionCreate,
    ) -> Connection:
        """Connect with an API key or token: the provider's own test call must pass first."""
        spec = context.spec_for(data.integration)
        mode = spec.auth_modes[0]
        if mode in OAUTH_MODES:
            raise BadRequest(
                f"{spec.title} connects through OAuth: "
                f"GET /api/v1/connections/{spec.slug}/authorize"
            )
        base_url = data.base_url or context.default_base_url(spec.slug)
        raw = confine_local_paths(spec.config_model, data.config, context.settings.local_files_root)
        public, secret = split_config(spec, raw)
        await check_destinations(context, base_url=data.base_url, config=public)
        await self._ensure_free(session, principal.user_id, spec.slug, data.name)
        connection = Connection(
            id=uuid.uuid4(),
            user_id=principal.user_id,
            integration=spec.slug,
            name=data.name,
            auth_mode=mode.value,
            config=public,
            base_url=base_url,
            priority=data.priority,
        )
        payload = json.dumps({"config": secret})
        connector = self._connector(
            context,
            connection,
            credentials=self._key_credentials(spec, _static(secret, spec)),
            config=spec.config_model.model_validate(raw) if spec.secrets_in_config else None,
        )
        await self._run_test(connector, connection)
        connection.secret_id = await vault.put(
            session,
            context.keyring,
            user_id=principal.user_id,
            purpose=f"connection:{connection.id}",
            plaintext=payload,
        )
        await ConnectionRepository(session).create(connection)
        await audit_service.record(
            session,
            principal.actor,
            action="connection.created",
            target_type="connection",
            target_id=connection.id,
            data={"integration": spec.slug, "name": data.name},
        )
        return connection

    async def start_oauth(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        slug: str,
        name: str,
        redirect_uri: str | None = None,
        local_callback_port: int | None = None,
        base_url: str | None = None,
    ) -> OAuthStart:
        """Record a state, PKCE verifier and the hash of a fresh nonce, and return the
        provider's authorization URL with the nonce for the caller to keep.

        The provider sends the browser back to this server's own callback; `redirect_uri`
        may only repeat that URL. `local_callback_port` is for the CLI's loopback listener,
        which no API caller can ask for.
        """
        own_callback = oauth_callback_url(context.settings.public_url, slug)
        if local_callback_port is not None:
            redirect_uri = local_callback_url(local_callback_port)
        elif redirect_uri is None or redirect_uri == own_callback:
            redirect_uri = own_callback
        else:
            raise RedirectUriRefused(f"Leave redirect_uri out, or send {own_callback}")
        base_url = base_url or context.default_base_url(slug)
        spec = context.spec_for(slug, base_url)
        await check_destinations(context, base_url=base_url, config={})
        if spec.oauth is None or not OAUTH_MODES & set(spec.auth_modes):
            raise BadRequest(f"{spec.title} does not connect through OAuth")
        client_app = context.oauth_client(slug)
        await self._ensure_free(session, principal.user_id, slug, name)
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier, challenge = _pkce_pair()
        verifier_id = await vault.put(
            session,
            context.keyring,
            user_id=principal.user_id,
            purpose="oauth-verifier",
            plaintext=verifier,
        )
        await OAuthStateRepository(session).create(
            OAuthState(
                user_id=principal.user_id,
                integration=slug,
                state_hash=_hash_state(state),
                verifier_secret_id=verifier_id,
                redirect_uri=redirect_uri,
                connection_name=name,
                base_url=base_url,
                nonce_hash=_hash_nonce(nonce),
                expires_at=utcnow() + OAUTH_STATE_TTL,
            )
        )
        query = {
            "response_type": "code",
            "client_id": client_app.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
        }
        if spec.oauth.pkce:
            query["code_challenge"] = challenge
            query["code_challenge_method"] = "S256"
        if spec.oauth.scopes:
            query["scope"] = " ".join(spec.oauth.scopes)
        query.update(spec.oauth.authorize_params)
        return OAuthStart(f"{spec.oauth.authorize_url}?{urlencode(query)}", nonce)

    async def complete_oauth(
        self,
        session: AsyncSession,
        principal: Principal | None,
        *,
        context: IntegrationContext,
        slug: str,
        code: str,
        state: str,
        nonce: str | None,
    ) -> Connection:
        """Exchange the code (with the PKCE verifier) and store the tokens as a connection.

        The state alone would let a victim who opens an attacker's authorization URL link
        their marketplace account to the attacker's Gigforge account. So the flow must also
        come back with the nonce its starter kept and be finished by the user who started it;
        until all three hold, nothing is used up. The state is single use.
        """
        states = OAuthStateRepository(session)
        pending = await states.pending(_hash_state(state))
        if pending is None or pending.integration != slug or pending.expires_at <= utcnow():
            raise InvalidOAuthState()
        if principal is None:
            raise Unauthorized(
                "Sign in as the account that started this connection, then open the link again"
            )
        if principal.user_id != pending.user_id:
            raise OAuthFlowRefused(
                "This authorization was started from another Gigforge account, so nothing was "
                "connected. Start the connection again from your own Connections page."
            )
        if (
            nonce is None
            or pending.nonce_hash is None
            or not hmac.compare_digest(_hash_nonce(nonce), pending.nonce_hash)
        ):
            raise OAuthFlowRefused(
                "This authorization was not started in this browser, so nothing was "
                "connected. Start the connection again from the Connections page."
            )
        if not await states.consume(pending):
            raise InvalidOAuthState()
        verifier = await vault.get(
            session, context.keyring, pending.verifier_secret_id, user_id=pending.user_id
        )
        await vault.delete(session, pending.verifier_secret_id, user_id=pending.user_id)
        spec = context.spec_for(slug, pending.base_url)
        connection_id = uuid.uuid4()
        try:
            body = await request_tokens(
                context,
                spec,
                connection=str(connection_id),
                form={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": pending.redirect_uri,
                    "code_verifier": verifier.reveal_text(),
                },
            )
        except IntegrationError as exc:
            raise ConnectionTestFailed(
                f"{spec.title} refused the authorization: {exc.detail}"
            ) from None
        tokens = TokenSet.from_response(body, previous_refresh=None)
        await self._ensure_free(session, pending.user_id, slug, pending.connection_name)
        connection = Connection(
            id=connection_id,
            user_id=pending.user_id,
            integration=slug,
            name=pending.connection_name,
            auth_mode=AuthMode.oauth2_authorization_code.value,
            config={},
            base_url=pending.base_url,
            token_expires_at=tokens.expires_at,
        )
        connection.secret_id = await vault.put(
            session,
            context.keyring,
            user_id=pending.user_id,
            purpose=f"connection:{connection.id}",
            plaintext=with_tokens({"config": {}}, tokens),
        )
        await ConnectionRepository(session).create(connection)
        await audit_service.record(
            session,
            principal.actor,
            action="connection.created",
            target_type="connection",
            target_id=connection.id,
            data={"integration": slug, "name": connection.name, "via": "oauth"},
        )
        return connection

    async def list(
        self, session: AsyncSession, principal: Principal, *, page: PageParams
    ) -> tuple[Sequence[Connection], int]:
        connections = ConnectionRepository(session)
        return await connections.paginate(connections.listed(principal.user_id), page)

    async def get(
        self, session: AsyncSession, principal: Principal, *, connection_id: uuid.UUID
    ) -> Connection:
        connection = await ConnectionRepository(session).get_owned(principal.user_id, connection_id)
        if connection is None:
            raise NotFound("No such connection")
        return connection

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        connection_id: uuid.UUID,
        data: ConnectionUpdate,
    ) -> Connection:
        """Rename, re-order, enable or disable: read on every call, so no restart is needed."""
        connection = await self.get(session, principal, connection_id=connection_id)
        if data.name is not None and data.name != connection.name:
            await self._ensure_free(session, principal.user_id, connection.integration, data.name)
            connection.name = data.name
        if data.priority is not None:
            connection.priority = data.priority
        if data.enabled is not None:
            if data.enabled and connection.status is ConnectionStatus.disabled:
                connection.status = ConnectionStatus.active
            elif not data.enabled:
                connection.status = ConnectionStatus.disabled
        if data.config is not None:
            spec = context.spec_for(connection.integration)
            raw = confine_local_paths(
                spec.config_model,
                {**connection.config, **data.config},
                context.settings.local_files_root,
            )
            public, secret = split_config(spec, raw)
            await check_destinations(context, base_url=None, config=public)
            connection.config = public
            if secret and connection.secret_id is not None:
                stored = await vault.get(
                    session, context.keyring, connection.secret_id, user_id=principal.user_id
                )
                payload = read_secrets(stored.reveal_text())
                payload["config"] = {**payload.get("config", {}), **secret}
                await vault.replace(
                    session,
                    context.keyring,
                    connection.secret_id,
                    user_id=principal.user_id,
                    plaintext=json.dumps(payload),
                )
        await audit_service.record(
            session,
            principal.actor,
            action="connection.updated",
            target_type="connection",
            target_id=connection.id,
            data=data.model_dump(exclude_unset=True, exclude={"config"}),
        )
        await session.flush()
        return connection

    async def delete(
        self, session: AsyncSession, principal: Principal, *, connection_id: uuid.UUID
    ) -> None:
        connection = await self.get(session, principal, connection_id=connection_id)
        if connection.secret_id is not None:
            await vault.delete(session, connection.secret_id, user_id=principal.user_id)
        await session.delete(connection)
        await audit_service.record(
            session,
            principal.actor,
            action="connection.deleted",
            target_type="connection",
            target_id=connection.id,
            data={"integration": connection.integration},
        )
        await session.flush()

    async def test(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        context: IntegrationContext,
        connection_id: uuid.UUID,
    ) -> dict[str, Any]:
        connection = await self.get(session, principal, connection_id=connection_id)
        connector = await self.connector(session, context=context, connection=connection)
        try:
            details = await self._run_test(connector, connection)
        finally:
            connection.last_checked_at = utcnow()
        if connection.status is ConnectionStatus.needs_reauth:
            connection.status = ConnectionStatus.active
        connection.last_error = None
        return details

    async def connector(
        self, session: AsyncSession, *, context: IntegrationContext, connection: Connection
    ) -> Connector:
        """A connector for one stored connection; secrets are read at request time."""
        spec = context.spec_for(connection.integration, connection.base_url)
        if connection.auth_mode in {mode.value for mode in OAUTH_MODES}:
            credentials: Credentials = OAuth2Credentials(
                ConnectionTokens(context, connection),
                header=spec.credential_header,
                scheme=spec.credential_scheme,
            )
        else:
            credentials = self._key_credentials(spec, self._vault_source(context, connection))
        config: BaseModel | None = None
        if spec.secrets_in_config and connection.secret_id is not None:
            stored = await vault.get(
                session, context.keyring, connection.secret_id, user_id=connection.user_id
            )
            values = {**connection.config, **read_secrets(stored.reveal_text())["config"]}
            config = spec.config_model.model_validate(values)
        return self._connector(context, connection, credentials=credentials, config=config)

    async def existing(
        self, session: AsyncSession, connection_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of `connection_ids` still exist (a row written later may not point at one
        deleted meanwhile)."""
        return await ConnectionRepository(session).existing(connection_ids)

    async def find(self, session: AsyncSession, connection_id: uuid.UUID) -> ConnectionRef | None:
        """Any user's connection by id, for background work acting for its owner (a scan
        task); None once it was deleted."""
        connection = await ConnectionRepository(session).by_id(connection_id)
        return ConnectionRef.of(connection) if connection is not None else None

    async def active_of(
        self, session: AsyncSession, integrations: Collection[str]
    ) -> Sequence[ConnectionRef]:
        """Every user's active connections to these integrations (the scan schedule's)."""
        return tuple(
            ConnectionRef.of(connection)
            for connection in await ConnectionRepository(session).active_of(integrations)
        )

    async def sources(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        capabilities: Sequence[Capability],
        *,
        context: IntegrationContext,
    ) -> Sequence[ConnectionRef]:
        """The user's active connections offering any of these capabilities, each once, in
        the order of `capabilities` then the user's fallback order."""
        found: dict[uuid.UUID, ConnectionRef] = {}
        for capability in capabilities:
            for connection in await self.chain(session, user_id, capability, context=context):
                found.setdefault(connection.id, ConnectionRef.of(connection))
        return tuple(found.values())

    async def connector_for(
        self, session: AsyncSession, *, context: IntegrationContext, connection_id: uuid.UUID
    ) -> Connector:
        """A connector for a connection known by id (background work acting for its owner)."""
        connection = await ConnectionRepository(session).by_id(connection_id)
        if connection is None:
            raise LookupError(f"connection {connection_id} is gone")
        return await self.connector(session, context=context, connection=connection)

    async def chain(
        self,
        session: AsyncSession,
        user_id: uuid.UUID,
        capability: Capability,
        *,
        context: IntegrationContext,
    ) -> Sequence[Connection]:
        """Active connections offering a capability, in the user's fallback order."""
        slugs = {spec.slug for spec in context.registry.with_capability(capability)}
        connections = await ConnectionRepository(session).active(user_id)
        return tuple(connection for connection in connections if connection.integration in slugs)

    def _connector(
        self,
        context: IntegrationContext,
        connection: Connection,
        *,
        credentials: Credentials,
        config: BaseModel | None = None,
    ) -> Connector:
        """Connectors get the public config only, unless their spec needs the secrets too."""
        spec = context.spec_for(connection.integration, connection.base_url)
        connector_class = context.registry.get(connection.integration)
        client = context.runtime.client(
            spec, connection=str(connection.id), credentials=credentials
        )
        if config is None:
            config = spec.config_model.model_construct(**connection.config)
        return connector_class(client, config)

    @staticmethod
    def _key_credentials(spec: IntegrationSpec, source: SecretSource | None) -> Credentials:
        if source is None:
            return NoCredentials()
        if spec.credential_query_param:
            return QueryCredentials(source, param=spec.credential_query_param)
        return HeaderCredentials(
            source, header=spec.credential_header, scheme=spec.credential_scheme
        )

    @staticmethod
    def _vault_source(context: IntegrationContext, connection: Connection) -> SecretSource | None:
        spec = context.spec_for(connection.integration)
        field = spec.credential_field
        secret_id = connection.secret_id
        if field is None or secret_id is None:
            return None

        async def source() -> str:
            from gigforge.kit.db import unit_of_work

            async with unit_of_work(context.database) as session:
                stored = await vault.get(
                    session, context.keyring, secret_id, user_id=connection.user_id
                )
            return str(read_secrets(stored.reveal_text())["config"][field])

        return source

    async def _run_test(self, connector: Connector, connection: Connection) -> dict[str, Any]:
        try:
            async with connector.client:
                return await connector.test()
        except DestinationNotAllowed as exc:
            connection.last_error = exc.detail[:500]
            raise ConnectionTestFailed(
                exc.detail, integration=connector.spec.slug, cause=exc.code
            ) from None
        except IntegrationError as exc:
            connection.last_error = exc.detail[:500]
            raise ConnectionTestFailed(
                f"{connector.spec.title} did not accept the connection: {exc.detail}",
                integration=connector.spec.slug,
                cause=exc.code,
                upstream_status=exc.upstream_status,
            ) from None

    async def _ensure_free(
        self, session: AsyncSession, user_id: uuid.UUID, slug: str, name: str
    ) -> None:
        if await ConnectionRepository(session).named(user_id, slug, name) is not None:
            raise ConnectionExists()


def _static(secret: dict[str, str], spec: IntegrationSpec) -> SecretSource | None:
    field = spec.credential_field
    if field is None or field not in secret:
        return None
    value = secret[field]

    async def source() -> str:
        return value

    return source


connections = ConnectionService()
