"""Inbound endpoints: the signed doors automation services post listings through.

Each endpoint is a source name, a key id (the row's id) and a secret kept in the vault. The
secret is returned once, when it is made or rotated; after that only its existence shows.
Receiving and verifying requests lives in `opportunities.inbound`.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.audit.service import audit as audit_service
from gigforge.connections.vault import Keyring, vault
from gigforge.kit.errors import NotFound, ValidationFailed
from gigforge.kit.pagination import PageParams
from gigforge.opportunities.models import InboundEndpoint
from gigforge.opportunities.repository import InboundEndpointRepository

SECRET_PREFIX = "gfi_"  # noqa: S105 - a label, not a secret
# The same rule as `opportunities.inbound.SOURCE_PATTERN`: it is a path segment of the URL.
SOURCE_RULE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
SIGNATURE_HELP = (
    "Headers X-Gigforge-Key-Id: <id> and X-Gigforge-Signature: t=<unix seconds>,"
    "v1=<hex HMAC-SHA256(secret, '<t>.' + raw body)>; 5 minutes tolerance"
)


@dataclass(frozen=True)
class IssuedSecret:
    """An endpoint with its secret in the clear: the only moment the secret is readable."""

    endpoint: InboundEndpoint
    secret: str
    url: str


def inbound_url(public_url: str, source: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/inbound/{source}"


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class InboundEndpointService:
    async def list(
        self, session: AsyncSession, principal: Principal, *, page: PageParams
    ) -> tuple[Sequence[InboundEndpoint], int]:
        endpoints = InboundEndpointRepository(session)
        return await endpoints.paginate(endpoints.listed(principal.user_id), page)

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        keyring: Keyring,
        public_url: str,
        source: str,
    ) -> IssuedSecret:
        if not SOURCE_RULE.fullmatch(source):
            raise ValidationFailed(
                "The source name is not valid",
                errors=[
                    {
                        "loc": ["body", "source"],
                        "msg": "2 to 40 characters: lowercase letters, digits, - and _, "
                        "starting with a letter",
                        "type": "value_error",
                    }
                ],
            )
        secret = _new_secret()
        secret_id = await vault.put(
            session, keyring, user_id=principal.user_id, purpose="inbound", plaintext=secret
        )
        endpoint = await InboundEndpointRepository(session).create(
            InboundEndpoint(user_id=principal.user_id, source=source, secret_id=secret_id)
        )
        await audit_service.record(
            session,
            principal.actor,
            action="inbound_endpoint.created",
            target_type="inbound_endpoint",
            target_id=endpoint.id,
            data={"source": source},
        )
        return IssuedSecret(endpoint, secret, inbound_url(public_url, source))

    async def rotate(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        keyring: Keyring,
        public_url: str,
        endpoint_id: uuid.UUID,
    ) -> IssuedSecret:
        """A new secret under the same key id; the old one stops working at once."""
        endpoint = await self._owned(session, principal, endpoint_id)
        secret = _new_secret()
        await vault.replace(
            session, keyring, endpoint.secret_id, user_id=principal.user_id, plaintext=secret
        )
        await audit_service.record(
            session,
            principal.actor,
            action="inbound_endpoint.rotated",
            target_type="inbound_endpoint",
            target_id=endpoint.id,
            data={"source": endpoint.source},
        )
        return IssuedSecret(endpoint, secret, inbound_url(public_url, endpoint.source))

    async def delete(
        self, session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
    ) -> None:
        endpoint = await self._owned(session, principal, endpoint_id)
        secret_id, source = endpoint.secret_id, endpoint.source
        await InboundEndpointRepository(session).delete(endpoint)
        await vault.delete(session, secret_id, user_id=principal.user_id)
        await audit_service.record(
            session,
            principal.actor,
            action="inbound_endpoint.deleted",
            target_type="inbound_endpoint",
            target_id=endpoint_id,
            data={"source": source},
        )

    async def _owned(
        self, session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
    ) -> InboundEndpoint:
        endpoint = await InboundEndpointRepository(session).get_owned(
            principal.user_id, endpoint_id
        )
        if endpoint is None:
            raise NotFound("No such inbound endpoint")
        return endpoint


inbound_endpoints = InboundEndpointService()
