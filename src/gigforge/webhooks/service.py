"""Webhook endpoints and the operations on their messages, for one user at a time.

Signing secrets (`whsec_` and 24 random bytes, base64) and custom header values are kept in
the vault; the secret is shown once, in the answer that creates or rotates it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.connections.vault import Keyring, vault
from gigforge.kit import clock
from gigforge.kit.outbox import publish
from gigforge.kit.pagination import PageParams
from gigforge.kit.ssrf import AddressGuard, HostUnreachable
from gigforge.kit.tasks import enqueue
from gigforge.webhooks import tasks as _tasks  # noqa: F401 (declares what this enqueues)
from gigforge.webhooks.delivery import DELIVER_TASK, delivery_row
from gigforge.webhooks.errors import (
    EndpointDisabled,
    EndpointNotFound,
    InvalidHeader,
    MessageNotFound,
    ReservedHeader,
)
from gigforge.webhooks.events import WebhookTest
from gigforge.webhooks.filters import normalized
from gigforge.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gigforge.webhooks.repository import (
    MANUALLY_DISABLED,
    AttemptRepository,
    DeliveryRepository,
    EndpointRepository,
)
from gigforge.webhooks.schemas import EndpointCreate, EndpointUpdate
from gigforge.webhooks.sending import RESERVED_HEADERS, RESERVED_PREFIXES

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 24
ROTATION_OVERLAP = timedelta(hours=24)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
MAX_HEADER_VALUE = 1000


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def checked_headers(headers: dict[str, str]) -> dict[str, str]:
    """Custom headers, names lower-cased; a 422 for a reserved or malformed one."""
    checked: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.strip().lower()
        if not _HEADER_NAME.match(lowered):
            raise InvalidHeader(f"{name[:100]!r} is not a valid header name")
        if lowered in RESERVED_HEADERS or lowered.startswith(RESERVED_PREFIXES):
            raise ReservedHeader(f"{lowered} is set by Gigforge on every delivery")
        if len(value) > MAX_HEADER_VALUE or any(char in value for char in "\r\n\0"):
            raise InvalidHeader(f"the value of {lowered} is too long or holds a line break")
        checked[lowered] = value
    return checked


class WebhookService:
    async def _owned(
        self, session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
    ) -> WebhookEndpoint:
        endpoint = await EndpointRepository(session).get_owned(principal.user_id, endpoint_id)
        if endpoint is None:
            raise EndpointNotFound()
        return endpoint

    async def _check_url(self, guard: AddressGuard, url: str) -> str:
        """Refuse a URL the guard can tell is private now; a name that does not resolve yet
        is accepted, and every send checks the address again."""
        with contextlib.suppress(HostUnreachable):
            await guard.check_url(url)
        return url.strip()

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        data: EndpointCreate,
        keyring: Keyring,
        guard: AddressGuard,
    ) -> tuple[WebhookEndpoint, str]:
        """The new endpoint and its signing secret (returned this once)."""
        url = await self._check_url(guard, data.url)
        event_types = normalized(data.event_types)
        headers = checked_headers(data.headers)
        secret = new_secret()
        user_id = principal.user_id
        endpoint = WebhookEndpoint(
            user_id=user_id,
            url=url,
            description=data.description,
            event_types=event_types,
            enabled=data.enabled,
            rate_limit=data.rate_limit,
            header_names=sorted(headers),
            secret_id=await vault.put(
                session, keyring, user_id=user_id, purpose="webhook.secret", plaintext=secret
            ),
            headers_secret_id=(
                await vault.put(
                    session,
                    keyring,
                    user_id=user_id,
                    purpose="webhook.headers",
                    plaintext=json.dumps(headers),
                )
                if headers
                else None
            ),
            created_at=clock.utcnow(),
        )
        await EndpointRepository(session).create(endpoint)
        return endpoint, secret

    async def list(
        self, session: AsyncSession, principal: Principal, *, page: PageParams
    ) -> tuple[Sequence[WebhookEndpoint], int]:
        repository = EndpointRepository(session)
        return await repository.paginate(repository.listed(principal.user_id), page)

    async def get(
        self, session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
    ) -> WebhookEndpoint:
        return await self._owned(session, principal, endpoint_id)

    async def update(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        endpoint_id: uuid.UUID,
        data: EndpointUpdate,
        keyring: Keyring,
        guard: AddressGuard,
    ) -> WebhookEndpoint:
        endpoint = await self._owned(session, principal, endpoint_id)
        changes = data.model_dump(exclude_unset=True)
        # Everything is checked before anything changes: a refused update writes nothing.
        url = await self._check_url(guard, changes["url"]) if changes.get("url") else None
        event_types = (
            normalized(changes["event_types"]) if changes.get("event_types") is not None else None
        )
        headers = (
            checked_headers(changes["headers"]) if changes.get("headers") is not None else None
        )
        if url is not None:
            endpoint.url = url
        if changes.get("description") is not None:
            endpoint.description = changes["description"]
        if event_types is not None:
            endpoint.event_types = event_types
        if "rate_limit" in changes:
            endpoint.rate_limit = changes["rate_limit"]
        if changes.get("enabled") is not None and changes["enabled"] != endpoint.enabled:
            endpoint.enabled = changes["enabled"]
            endpoint.disabled_reason = None if endpoint.enabled else MANUALLY_DISABLED
            endpoint.failing_since = None
            if endpoint.enabled:
                await enqueue(session, DELIVER_TASK)
        if headers is not None:
            await self._replace_headers(session, endpoint, headers, keyring)
        endpoint.updated_at = clock.utcnow()
        await session.flush()
        return endpoint

    async def _replace_headers(
        self,
        session: AsyncSession,
        endpoint: WebhookEndpoint,
        headers: dict[str, str],
        keyring: Keyring,
    ) -> None:
        if endpoint.headers_secret_id is not None:
            await vault.delete(session, endpoint.headers_secret_id, user_id=endpoint.user_id)
            endpoint.headers_secret_id = None
        if headers:
            endpoint.headers_secret_id = await vault.put(
                session,
                keyring,
                user_id=endpoint.user_id,
                purpose="webhook.headers",
                plaintext=json.dumps(headers),
            )
        endpoint.header_names = sorted(headers)

    async def delete(
        self, session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
    ) -> None:
        endpoint = await self._owned(session, principal, endpoint_id)
        secret_ids = [endpoint.secret_id, endpoint.previous_secret_id, endpoint.headers_secret_id]
        await session.delete(endpoint)
        await session.flush()
        for secret_id in secret_ids:
            if secret_id is not None:
                await vault.delete(session, secret_id, user_id=principal.user_id)

    async def rotate(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        endpoint_id: uuid.UUID,
        keyring: Keyring,
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret (returned this once); the current one stays valid for 24 hours, and
        deliveries carry both signatures meanwhile."""
        endpoint = await self._owned(session, principal, endpoint_id)
        now = clock.utcnow()
        if endpoint.previous_secret_id is not None:
            await vault.delete(session, endpoint.previous_secret_id, user_id=principal.user_id)
        secret = new_secret()
        endpoint.previous_secret_id = endpoint.secret_id
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
        endpoint.secret_id = await vault.put(
            session, keyring, user_id=principal.user_id, purpose="webhook.secret", plaintext=secret
        )
        endpoint.updated_at = now
        await session.flush()
        return endpoint, secret

    async def send_test(
        self, session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
    ) -> WebhookDelivery:
        """Publish a `webhook.test` event and queue it for this endpoint only."""
        endpoint = await self._owned(session, principal, endpoint_id)
        if not endpoint.enabled:
            raise EndpointDisabled("Enable the endpoint before sending it a test message")
        event = await publish(
            session,
            WebhookTest(endpoint_id=endpoint.id, message="Test message from Gigforge"),
            user_id=principal.user_id,
        )
        await session.flush()
        row = delivery_row(event, endpoint.id, clock.utcnow())
        await DeliveryRepository(session).insert_many([row])
        await enqueue(session, DELIVER_TASK)
        delivery = await DeliveryRepository(session).get(row["id"])
        assert delivery is not None
        return delivery

    async def resend(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        event_id: uuid.UUID,
        endpoint_id: uuid.UUID | None = None,
    ) -> Sequence[WebhookDelivery]:
        """Send an event again to every endpoint it went to (or one), with the same
        webhook-id and a fresh retry schedule."""
        repository = DeliveryRepository(session)
        deliveries = [
            delivery
            for delivery in await repository.for_event(principal.user_id, event_id)
            if endpoint_id is None or delivery.endpoint_id == endpoint_id
        ]
        if not deliveries:
            raise MessageNotFound("No webhook endpoint of yours received this event")
        await repository.requeue([delivery.id for delivery in deliveries], clock.utcnow())
        await enqueue(session, DELIVER_TASK)
        for delivery in deliveries:
            await session.refresh(delivery)
        return deliveries

    async def recover(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        endpoint_id: uuid.UUID,
        since: datetime,
    ) -> int:
        """Send again every delivery to this endpoint that failed for good since `since`."""
        endpoint = await self._owned(session, principal, endpoint_id)
        repository = DeliveryRepository(session)
        failed = await repository.failed_since(endpoint.id, since)
        resent = await repository.requeue(failed, clock.utcnow())
        if resent:
            await enqueue(session, DELIVER_TASK)
        return resent

    async def attempts(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        endpoint_id: uuid.UUID,
        before: uuid.UUID | None,
        limit: int,
    ) -> tuple[Sequence[WebhookAttempt], bool]:
        """The endpoint's attempts, newest first; and whether older ones exist."""
        endpoint = await self._owned(session, principal, endpoint_id)
        rows = await AttemptRepository(session).page(endpoint.id, before=before, limit=limit + 1)
        return rows[:limit], len(rows) > limit

    async def disabled_by_failures(
        self, session: AsyncSession, principal: Principal
    ) -> Sequence[WebhookEndpoint]:
        """Endpoints Gigforge disabled, for the dashboard's notices."""
        return await EndpointRepository(session).disabled_by_failures(principal.user_id)

    async def delivery_counts(
        self, session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
    ) -> dict[str, int]:
        endpoint = await self._owned(session, principal, endpoint_id)
        return await DeliveryRepository(session).counts(endpoint.id)


webhooks = WebhookService()
